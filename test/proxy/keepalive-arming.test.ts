import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeepAliveArming } from '../../proxy/connection/keepalive-arming.js';

// This file's loopback address: 127.0.113.1.
const HOST = '127.0.113.1';
let server: net.Server;
const accepted: net.Socket[] = [];

beforeAll(async () => {
  server = net.createServer((s) => void accepted.push(s));
  server.listen(0, HOST);
  await once(server, 'listening');
});

afterAll(async () => {
  for (const s of accepted) s.destroy();
  await new Promise((r) => server.close(r));
});

async function client(): Promise<net.Socket> {
  const s = net.connect({ host: HOST, port: (server.address() as net.AddressInfo).port });
  await once(s, 'connect');
  return s;
}

/** The kernel's keepalive timer for the socket with this local port, from `ss -o`: seconds left, or undefined. */
function keepaliveSecondsLeft(localPort: number): number | undefined {
  const out = execFileSync('ss', ['-tnoH', 'state', 'established', `( sport = :${localPort} )`], {
    encoding: 'utf8',
  });
  const m = /timer:\(keepalive,(?:(\d+)min)?(\d+(?:\.\d+)?)(m?s)/.exec(out);
  if (m === null) return undefined;
  return Number(m[1] ?? 0) * 60 + Number(m[2]) / (m[3] === 'ms' ? 1000 : 1);
}

const settings = { initialDelayMs: 30_000, intervalMs: 5000, count: 3 };

describe('KeepAliveArming', () => {
  it('arms the sockets of a pair that lived past the delay, with the first probe shortened by it', async () => {
    const arming = new KeepAliveArming(300);
    const [a, b] = [await client(), await client()];
    arming.add([a, b], settings);
    expect(keepaliveSecondsLeft(a.localPort!)).toBeUndefined();
    expect(arming.pending).toBe(1);
    await new Promise((r) => setTimeout(r, 700));
    for (const s of [a, b]) {
      const left = keepaliveSecondsLeft(s.localPort!);
      expect(left).toBeGreaterThan(25);
      expect(left).toBeLessThanOrEqual(29.7);
    }
    expect(arming.pending).toBe(0);
    a.destroy();
    b.destroy();
    arming.close();
  });

  it('never touches a pair that closed before the delay, and stops its timer when nothing waits', async () => {
    const arming = new KeepAliveArming(200);
    const short = await client();
    arming.add([short], settings);
    short.destroy();
    await new Promise((r) => setTimeout(r, 500));
    expect(arming.pending).toBe(0);
    expect(arming.sweeping).toBe(false);
    const long = await client();
    arming.add([long], settings);
    expect(arming.sweeping).toBe(true);
    await new Promise((r) => setTimeout(r, 500));
    expect(keepaliveSecondsLeft(long.localPort!)).toBeGreaterThan(25);
    expect(arming.sweeping).toBe(false);
    long.destroy();
  });

  it('lets go of a pair cancelled before its turn (a short connection), and never arms it', async () => {
    const arming = new KeepAliveArming(200);
    const [short, long] = [await client(), await client()];
    const ticket = arming.add([short], settings);
    arming.add([long], settings);
    expect(arming.holding).toBe(2);
    arming.cancel(ticket);
    arming.cancel(ticket); // idempotent
    expect(arming.holding).toBe(1);
    await new Promise((r) => setTimeout(r, 500));
    // Still open, but cancelled: untouched. The other one was armed, and nothing is held.
    expect(keepaliveSecondsLeft(short.localPort!)).toBeUndefined();
    expect(keepaliveSecondsLeft(long.localPort!)).toBeGreaterThan(25);
    expect(arming.holding).toBe(0);
    expect(arming.sweeping).toBe(false);
    short.destroy();
    long.destroy();
  });

  it('with no delay, arms at once', async () => {
    const s = await client();
    new KeepAliveArming(0).add([s], settings);
    expect(keepaliveSecondsLeft(s.localPort!)).toBeGreaterThanOrEqual(29);
    s.destroy();
  });
});
