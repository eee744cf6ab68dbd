import { EventEmitter } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ProxyConfigInput } from '../../proxy/config/schema.js';
import { runProxy } from '../../proxy/process/run.js';
import { LogSink } from './helpers.js';
import { TestDnsServer } from '../../standins/dns-server.js';
import { createPki, type TestPki } from '../../standins/pki.js';
import { openStream, ProxyProcess, startStreamUpstream, tryHandshake } from './lifecycle-harness.js';

// This file's loopback block: 127.0.210.0/24.
const SNI = 'drain.gr7.us-east-1.eks.amazonaws.com';
let dns: TestDnsServer;
let pki: TestPki;
let upstream: Awaited<ReturnType<typeof startStreamUpstream>>;
let proxy: ProxyProcess | undefined;

function config(drain: { graceSec: number; deadlineSec: number }): ProxyConfigInput {
  return {
    listen: { host: '127.0.0.1', port: 0 },
    routes: [{ sni: SNI, upstreamPort: upstream.port, name: 'drain' }],
    allowedUpstreamCidrs: ['127.0.210.0/24'],
    dns: { servers: [dns.server], timeoutMs: 500, tries: 1 },
    health: { host: '127.0.0.1', port: 0, probeIntervalMs: 100 },
    drain,
    workers: 1,
  };
}

beforeAll(async () => {
  dns = await TestDnsServer.start();
  pki = await createPki({ dnsNames: [SNI] });
  upstream = await startStreamUpstream('127.0.210.1', pki, 100);
  dns.set(SNI, { a: ['127.0.210.1'] });
});

afterEach(async () => {
  await proxy?.kill();
  proxy = undefined;
});

afterAll(async () => {
  await Promise.all([dns.close(), upstream.close()]);
});

describe('drain on SIGTERM', () => {
  it('fails /readyz at once, accepts during the grace period, finishes streams, cuts the rest at the deadline, exits 0', async () => {
    proxy = await ProxyProcess.start(config({ graceSec: 1, deadlineSec: 2 }));
    await proxy.waitReady();
    const finite = await openStream(proxy.port, SNI, pki.caCertPem, 20); // ~2 s of chunks
    const endless = await openStream(proxy.port, SNI, pki.caCertPem, 10_000);
    await sleep(300);

    const t0 = Date.now();
    proxy.signal('SIGTERM');
    await proxy.waitFor((e) => e.event === 'drain_started');
    const during = await proxy.health('/readyz');
    expect(during.status).toBe(503);
    expect(JSON.parse(during.body)).toMatchObject({ ready: false, reason: 'draining' });
    expect((await proxy.health('/healthz')).status).toBe(200);

    // Still inside the grace period: new connections are accepted and served.
    expect(await tryHandshake(proxy.port, SNI, pki.caCertPem)).toBe('ok');

    await proxy.waitFor((e) => e.event === 'listener_closed', 3000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    expect(await tryHandshake(proxy.port, SNI, pki.caCertPem)).toBe('ECONNREFUSED');

    await finite.closed;
    expect(finite.lines).toHaveLength(20);
    expect(finite.lines.at(-1)).toBe('chunk 19');

    const endlessClosedAt = await endless.closed;
    // grace 1 s + deadline 2 s after SIGTERM; allow scheduling slack.
    expect(endlessClosedAt - t0).toBeGreaterThanOrEqual(2900);
    expect(endlessClosedAt - t0).toBeLessThan(4500);
    expect(endless.lines.length).toBeGreaterThan(20);

    const exit = await proxy.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(Date.now() - t0).toBeLessThan(5000);

    const reasons = proxy.connections().map((c) => c.reason);
    expect(reasons.filter((r) => r === 'shutdown')).toHaveLength(1);
    expect(reasons.filter((r) => r === 'ok')).toHaveLength(2);
    expect(proxy.events.map((e) => e.event)).toEqual(
      expect.arrayContaining(['drain_started', 'listener_closed', 'drain_deadline', 'stopped']),
    );
  });

  it('a second SIGTERM stops at once', async () => {
    proxy = await ProxyProcess.start(config({ graceSec: 30, deadlineSec: 60 }));
    await proxy.waitReady();
    const endless = await openStream(proxy.port, SNI, pki.caCertPem, 10_000);
    await sleep(200);
    const t0 = Date.now();
    proxy.signal('SIGTERM');
    await proxy.waitFor((e) => e.event === 'drain_started');
    proxy.signal('SIGTERM');
    await endless.closed;
    expect(await proxy.exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(proxy.events.some((e) => e.event === 'drain_cut_short')).toBe(true);
    expect(proxy.connections().map((c) => c.reason)).toEqual(['shutdown']);
  });

  it('SIGINT drains like SIGTERM; with nothing open it exits after the grace period', async () => {
    proxy = await ProxyProcess.start(config({ graceSec: 1, deadlineSec: 30 }));
    const t0 = Date.now();
    proxy.signal('SIGINT');
    expect(await proxy.exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    expect(Date.now() - t0).toBeLessThan(3000);
  });
});

describe('runProxy in process, with an injected signal source and clock', () => {
  it('holds the listener open until the injected clock says the grace period is over', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ekslink-drain-'));
    const path = join(dir, 'proxy.json');
    writeFileSync(path, JSON.stringify(config({ graceSec: 3600, deadlineSec: 3600 })));
    const signals = new EventEmitter();
    const sink = new LogSink();
    let releaseGrace!: () => void;
    const graceAsked: number[] = [];
    let ports!: { port: number; healthPort: number };
    const listening = new Promise<void>((resolve) => {
      void (async () => {
        const code = await runProxy(path, {
          signals,
          logDestination: sink,
          sleep: (ms) => {
            graceAsked.push(ms);
            return new Promise<void>((r) => (releaseGrace = r));
          },
          onListening: (p) => {
            ports = p;
            resolve();
          },
        });
        exitCode.resolve(code);
      })();
    });
    const exitCode = Promise.withResolvers<number>();
    await listening;
    const readyz = async () => (await fetch(`http://127.0.0.1:${ports.healthPort}/readyz`)).status;
    await expect.poll(readyz).toBe(200);

    signals.emit('SIGTERM');
    expect(await readyz()).toBe(503);
    await sleep(300);
    expect(graceAsked).toEqual([3_600_000]);
    expect(await tryHandshake(ports.port, SNI, pki.caCertPem)).toBe('ok');

    releaseGrace();
    await expect.poll(() => sink.lines.some((l) => l.event === 'listener_closed')).toBe(true);
    expect(await tryHandshake(ports.port, SNI, pki.caCertPem)).toBe('ECONNREFUSED');
    expect(await exitCode.promise).toBe(0);
    expect(sink.lines.filter((l) => l.event === 'connection').map((l) => l.reason)).toEqual(['ok']);
  });
});
