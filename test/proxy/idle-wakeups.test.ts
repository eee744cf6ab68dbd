/**
 * An idle proxy sleeps: with no traffic, the serving process's main thread wakes about a
 * dozen times a second (the event-loop delay sampler every 100 ms; prom-client's own loop
 * monitor and the log flush once a second; a health probe every 5 s). Each wake-up costs CPU
 * whatever it does: with the sampler at 20 ms the thread woke 51-52 times a second and an idle
 * proxy used 0.8 % of a CPU, 0.25 % now. Read from the kernel's count of the times the thread
 * went to sleep and was woken (voluntary context switches), the real bundle run with the
 * default config.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestDnsServer } from '../../standins/dns-server.js';
import { ProxyProcess } from './lifecycle-harness.js';

// This file's loopback block: 127.0.216.0/24.
const EKS = 'idle.gr7.us-east-1.eks.amazonaws.com';
const UPSTREAM = '127.0.216.1';
/** Wake-ups a second allowed: twice what the proxy needs, half what the 20 ms sampler alone cost. */
const MAX_WAKEUPS_PER_SEC = 25;

let dns: TestDnsServer;
let upstream: net.Server;
let proxy: ProxyProcess;

beforeAll(async () => {
  dns = await TestDnsServer.start();
  dns.set(EKS, { a: [UPSTREAM] });
  upstream = net.createServer((s) => s.on('error', () => s.destroy()));
  await new Promise<void>((r) => upstream.listen(0, UPSTREAM, r));
  proxy = await ProxyProcess.start({
    listen: { host: '127.0.0.1', port: 0 },
    routes: [{ sni: EKS, upstreamPort: (upstream.address() as net.AddressInfo).port }],
    allowedUpstreamCidrs: ['127.0.216.0/24'],
    dns: { servers: [dns.server] },
    health: { host: '127.0.0.1', port: 0 },
    // One process that serves (what `auto` picks on 2 vCPUs): its main thread is the one read.
    workers: 1,
  });
});

afterAll(async () => {
  await proxy?.kill();
  await dns?.close();
  await new Promise((r) => upstream?.close(r));
});

/** How many times the process's main thread has gone to sleep and been woken. */
function wakeups(pid: number): number {
  const status = readFileSync(`/proc/${pid}/task/${pid}/status`, 'utf8');
  return Number(/^voluntary_ctxt_switches:\s+(\d+)$/m.exec(status)?.[1]);
}

describe('an idle proxy', () => {
  it(`wakes at most ${MAX_WAKEUPS_PER_SEC} times a second`, async () => {
    await proxy.waitReady();
    // Past start-up (the first probes, the ready line, the first flush).
    await new Promise((r) => setTimeout(r, 1500));
    const before = wakeups(proxy.pid);
    const started = performance.now();
    await new Promise((r) => setTimeout(r, 3000));
    const perSec = (wakeups(proxy.pid) - before) / ((performance.now() - started) / 1000);
    expect(perSec).toBeGreaterThan(0);
    expect(perSec).toBeLessThanOrEqual(MAX_WAKEUPS_PER_SEC);
  });
});
