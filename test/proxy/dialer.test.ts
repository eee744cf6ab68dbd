import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dial, DialCancel, FailureMemory, orderAddresses, RoundRobin } from '../../proxy/upstream/dialer.js';
import type { ConnectResult } from '../../proxy/observer.js';
import { closeServer } from './helpers.js';

// This file's loopback block: 127.0.103.0/24.
const LIVE = '127.0.103.1';
const DEAD = '127.0.103.2'; // nothing listens: connection refused
const BLACKHOLE = '127.0.103.3'; // listening with a full accept queue: SYNs dropped, connect hangs

let live: net.Server;
let port: number;
let blackhole: ChildProcess;

/**
 * A listener whose process never accepts (its thread is parked in Atomics.wait), so once
 * the accept queue is full the kernel drops new SYNs: a real connect timeout on loopback.
 */
async function startBlackhole(host: string, port: number): Promise<ChildProcess> {
  const code = `
    const net = require('node:net');
    const s = net.createServer();
    s.listen({ host: ${JSON.stringify(host)}, port: ${port}, backlog: 1 }, () => {
      process.stdout.write('listening\\n', () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60000));
    });`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  await once(child.stdout!, 'data');
  // Fill the accept queue (backlog + 1 on Linux) so that later SYNs are dropped.
  const fillers: net.Socket[] = [];
  for (let i = 0; i < 4; i++) {
    const s = net.connect({ host, port });
    s.on('error', () => {});
    fillers.push(s);
  }
  await new Promise((r) => setTimeout(r, 200));
  child.once('exit', () => fillers.forEach((s) => s.destroy()));
  return child;
}

beforeAll(async () => {
  live = net.createServer((s) => s.on('error', () => {}).end());
  live.listen({ host: LIVE, port: 0 });
  await once(live, 'listening');
  port = (live.address() as net.AddressInfo).port;
  blackhole = await startBlackhole(BLACKHOLE, port);
});

afterAll(async () => {
  blackhole.kill('SIGKILL');
  await closeServer(live);
});

describe('dial', () => {
  it('connects to the live address after a refused one, and says which failed', async () => {
    for (let i = 0; i < 2; i++) {
      const r = await dial([DEAD, LIVE], port, { connectTimeoutMs: 1000 });
      expect(r.address).toBe(LIVE);
      expect(r.socket.remoteAddress).toBe(LIVE);
      r.socket.destroy();
      expect(r.failed.every((f) => f.address === DEAD && f.result === 'refused')).toBe(true);
    }
  });

  it('gives up on an address after the per-attempt timeout and tries the next', async () => {
    // Two dials on successive turns start at different addresses, so one meets the black hole first.
    const seen: { results: ConnectResult[]; ms: number }[] = [];
    for (let i = 0; i < 2; i++) {
      const results: ConnectResult[] = [];
      const started = Date.now();
      const r = await dial([BLACKHOLE, LIVE], port, {
        connectTimeoutMs: 300,
        turn: i,
        onAttempt: (res) => results.push(res),
      });
      r.socket.destroy();
      expect(r.address).toBe(LIVE);
      seen.push({ results, ms: Date.now() - started });
    }
    const slow = seen.find((s) => s.results.length === 2);
    expect(slow?.results).toEqual(['timeout', 'ok']);
    expect(slow!.ms).toBeGreaterThanOrEqual(290);
    expect(seen.find((s) => s.results.length === 1)?.results).toEqual(['ok']);
  });

  it('lists every address tried when all fail', async () => {
    const err = await dial([DEAD, BLACKHOLE], port, { connectTimeoutMs: 200 }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'EKL_UPSTREAM_CONNECT_FAILED', source: 'upstream', retryable: true });
    const message = (err as Error).message;
    expect(message).toContain(`${DEAD}:${port} (ECONNREFUSED)`);
    expect(message).toContain(`${BLACKHOLE}:${port} (ETIMEDOUT)`);
  });

  it('tries recently failed addresses last, until the memory expires', async () => {
    let now = 0;
    const failures = new FailureMemory(30_000, () => now);
    await expect(dial([BLACKHOLE], port, { connectTimeoutMs: 200, failures })).rejects.toThrow(/ETIMEDOUT/);
    // The black hole is now remembered: whatever the rotation, the next dials go straight to LIVE.
    for (let i = 0; i < 4; i++) {
      const attempts: ConnectResult[] = [];
      const r = await dial([BLACKHOLE, LIVE], port, {
        connectTimeoutMs: 200,
        failures,
        turn: i,
        onAttempt: (a) => attempts.push(a),
      });
      r.socket.destroy();
      expect(attempts).toEqual(['ok']);
    }
    expect(orderAddresses([BLACKHOLE, LIVE], port, failures)).toEqual([LIVE, BLACKHOLE]);
    now += 30_001;
    const orders = new Set([0, 1, 2, 3].map((t) => orderAddresses([BLACKHOLE, LIVE], port, failures, t)[0]));
    expect(orders).toEqual(new Set([BLACKHOLE, LIVE]));
  });

  it('spreads first attempts over the addresses whatever order the resolver gives them in', () => {
    const answer = ['10.0.0.3', '10.0.0.1', '10.0.0.2'];
    const rotated = (i: number): string[] => answer.map((_, j) => answer[(i + j) % answer.length]!);
    for (const order of [
      () => answer,
      rotated,
      (i: number) => rotated(2 * i),
      (i: number) => rotated(i * i),
    ]) {
      const firsts = new Map<string, number>();
      for (let i = 0; i < 30; i++) {
        const a = orderAddresses(order(i), 443, undefined, i)[0]!;
        firsts.set(a, (firsts.get(a) ?? 0) + 1);
      }
      expect([...firsts.values()]).toEqual([10, 10, 10]);
    }
  });

  it('keeps one turn per key, so one route does not move another', () => {
    const rr = new RoundRobin();
    expect([rr.next('a'), rr.next('a'), rr.next('b'), rr.next('a'), rr.next('b')]).toEqual([0, 1, 0, 2, 1]);
    rr.retain(new Set(['b']));
    expect([rr.next('a'), rr.next('b')]).toEqual([0, 2]);
  });

  it('a connect timer that fires while the loop was busy does not beat a connect that completed', async () => {
    for (let i = 0; i < 3; i++) {
      const attempts: ConnectResult[] = [];
      const pending = dial([LIVE], port, { connectTimeoutMs: 50, onAttempt: (a) => attempts.push(a) });
      // Block the loop well past the timeout; the loopback connect completes meanwhile.
      const until = performance.now() + 150;
      while (performance.now() < until);
      const r = await pending;
      r.socket.destroy();
      expect(attempts).toEqual(['ok']);
    }
  });

  it('stops when cancelled (the client went away)', async () => {
    const cancel = new DialCancel();
    setTimeout(() => cancel.cancel(new Error('client gone')), 100);
    const started = Date.now();
    await expect(dial([BLACKHOLE], port, { connectTimeoutMs: 5000, cancel })).rejects.toThrow('client gone');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('keeps the memory bounded', () => {
    const m = new FailureMemory(60_000, () => 0, 10);
    for (let i = 0; i < 100; i++) m.noteFailure(`10.0.0.${i}`, 443);
    expect(m.isRecent('10.0.0.99', 443)).toBe(true);
    expect(m.isRecent('10.0.0.0', 443)).toBe(false);
  });
});
