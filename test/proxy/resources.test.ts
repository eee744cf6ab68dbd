/**
 * Nothing outlives a connection: after many connections through every path (served,
 * refused, timed out, reset, failed upstream, client gone while DNS is pending), the
 * process holds no more handles or timers of any kind than it held before them. (A timer
 * that was already running before may have fired since, so "no more", not "the same".)
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestDnsServer } from '../../standins/dns-server.js';
import { createPki, type TestPki } from '../../standins/pki.js';
import {
  captureClientHello,
  EchoUpstreams,
  rawExchange,
  startProxy,
  waitUntil,
  whoServes,
  type TestProxy,
} from './helpers.js';

// This file's loopback block: 127.0.120.0/24.
const EKS = '0123456789abcdef0123456789abcdef.gr7.us-east-1.eks.amazonaws.com';
const DEAD = 'dead.internal.example';
const NXDOMAIN = 'missing.internal.example';
const ENI = '127.0.120.11';
const DEAD_ENI = '127.0.120.13';
let pki: TestPki;
let dns: TestDnsServer;
let upstreams: EchoUpstreams;
let proxy: TestProxy;
const hellos = new Map<string, Buffer>();

beforeAll(async () => {
  pki = await createPki({ dnsNames: [EKS] });
  dns = await TestDnsServer.start({ host: '127.0.120.53' });
  dns.set(EKS, { a: [ENI] });
  dns.set(DEAD, { a: [DEAD_ENI] });
  upstreams = await EchoUpstreams.start([ENI], pki.serverCertPem, pki.serverKeyPem);
  for (const name of [EKS, DEAD, NXDOMAIN, 'other.example']) {
    hellos.set(name, await captureClientHello('127.0.120.2', { servername: name }));
  }
  proxy = await startProxy('127.0.120.1', {
    routes: [
      { sni: EKS, upstreamPort: upstreams.port, name: 'main' },
      { sni: DEAD, upstreamPort: upstreams.port, name: 'dead' },
      { sni: NXDOMAIN, upstreamPort: upstreams.port, name: 'nx' },
    ],
    allowedUpstreamCidrs: ['127.0.120.0/24'],
    dns: { servers: [dns.server], timeoutMs: 300, tries: 1, staleMaxAgeMs: 0 },
    clientHello: { timeoutMs: 200 },
    upstream: { connectTimeoutMs: 300, failureMemoryMs: 1000 },
  });
});

afterAll(async () => {
  await proxy.close();
  await upstreams.close();
  await dns.close();
});

/** Handles and timers by type, e.g. { TCPSocketWrap: 3, Timeout: 1 }. */
function resources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) counts[r] = (counts[r] ?? 0) + 1;
  return counts;
}

/** A client that sends `bytes` and then resets the connection after `afterMs`. */
async function resetAfter(bytes: Buffer, afterMs: number): Promise<void> {
  const s = net.connect({ host: proxy.host, port: proxy.port });
  s.on('error', () => {});
  await new Promise<void>((resolve) => s.once('connect', () => resolve()));
  s.write(bytes);
  await new Promise((r) => setTimeout(r, afterMs));
  s.resetAndDestroy();
}

describe('resources per connection', () => {
  it('leaves no socket or timer behind on any path', async () => {
    // One of each first, so lazily created things (c-ares channel, TLS contexts) exist.
    await whoServes(proxy.host, proxy.port, EKS, pki.caCertPem);
    await waitUntil(() => proxy.server.activeConnections === 0);
    await new Promise((r) => setTimeout(r, 50));
    const before = resources();

    const { host, port } = proxy;
    const rounds = 10;
    for (let i = 0; i < rounds; i++) {
      await Promise.all([
        whoServes(host, port, EKS, pki.caCertPem),
        rawExchange(host, port, [hellos.get('other.example') as Buffer]), // SNI not allowed: alert
        rawExchange(host, port, [Buffer.from('GET / HTTP/1.1\r\n\r\n')]), // not TLS
        rawExchange(host, port, [(hellos.get(EKS) as Buffer).subarray(0, 40)]), // hello timeout
        rawExchange(host, port, [(hellos.get(EKS) as Buffer).subarray(0, 40)], { endAfter: true }),
        rawExchange(host, port, [hellos.get(DEAD) as Buffer]), // refused upstream
        rawExchange(host, port, [hellos.get(NXDOMAIN) as Buffer]), // NXDOMAIN
        resetAfter(hellos.get(EKS) as Buffer, 0), // reset as the upstream phase starts
        resetAfter(Buffer.alloc(0), 5), // reset before a byte
      ]);
    }
    // The client goes away while the DNS query is still in flight.
    dns.fail('drop');
    await Promise.all(Array.from({ length: 5 }, () => resetAfter(hellos.get(EKS) as Buffer, 50)));
    await waitUntil(() => proxy.server.activeConnections === 0, 5000);
    dns.fail(null);
    // Let the dropped queries time out inside c-ares (dns.timeoutMs) and closes settle.
    await new Promise((r) => setTimeout(r, 600));

    const after = resources();
    const grown = Object.entries(after).filter(([kind, n]) => n > (before[kind] ?? 0));
    expect(grown, `before: ${JSON.stringify(before)}, after: ${JSON.stringify(after)}`).toEqual([]);
    expect(proxy.sink.connections.length).toBeGreaterThanOrEqual(1 + rounds * 9 + 5);
  });
});
