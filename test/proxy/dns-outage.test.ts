import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPki, type TestPki } from '../../standins/pki.js';
import { TestDnsServer } from '../../standins/dns-server.js';
import { CountingObserver, EchoUpstreams, startProxy, whoServes, type TestProxy } from './helpers.js';

// This file's loopback block: 127.0.105.0/24.
const EKS = '00112233445566778899aabbccddeeff.sk1.us-west-2.eks.amazonaws.com';
const ENI = '127.0.105.11';
const STALE_MS = 1500;
let pki: TestPki;
let dns: TestDnsServer;
let upstreams: EchoUpstreams;
let proxy: TestProxy;
const observer = new CountingObserver();

beforeAll(async () => {
  pki = await createPki({ dnsNames: [EKS] });
  dns = await TestDnsServer.start({ host: '127.0.105.53' });
  upstreams = await EchoUpstreams.start([ENI], pki.serverCertPem, pki.serverKeyPem);
  proxy = await startProxy(
    '127.0.105.1',
    {
      routes: [{ sni: EKS, upstreamPort: upstreams.port }],
      allowedUpstreamCidrs: ['127.0.105.0/24'],
      dns: { servers: [dns.server], timeoutMs: 200, tries: 1, staleMaxAgeMs: STALE_MS, shareWindowMs: 0 },
    },
    { observer },
  );
});

afterAll(async () => {
  await proxy.close();
  await upstreams.close();
  await dns.close();
});

const connect = (): Promise<string> => whoServes(proxy.host, proxy.port, EKS, pki.caCertPem, 5000);

describe('DNS outage', () => {
  it('serves the last good answer within dns.staleMaxAgeMs, fails clearly after, recovers when DNS returns', async () => {
    dns.set(EKS, { a: [ENI] });
    expect(await connect()).toBe(ENI);
    const lastGood = Date.now();

    // Outage: SERVFAIL, then silence (queries time out).
    dns.fail('servfail');
    expect(await connect()).toBe(ENI);
    dns.fail('drop');
    expect(await connect()).toBe(ENI);
    const staleLine = await proxy.sink.waitFor((l) => l.event === 'connection' && l.dnsStale === true);
    expect(staleLine).toMatchObject({ reason: 'ok', upstreamAddress: `${ENI}:${upstreams.port}` });
    expect(observer.dns.get('stale')).toBeGreaterThanOrEqual(2);

    // Past the window: clear failure, no dial.
    await new Promise((r) => setTimeout(r, Math.max(0, lastGood + STALE_MS + 100 - Date.now())));
    dns.fail('servfail');
    const connectsBefore = [...observer.connects.values()].reduce((a, b) => a + b, 0);
    await expect(connect()).rejects.toThrow();
    const failed = await proxy.sink.waitFor((l) => l.event === 'connection' && l.reason === 'dns_failed');
    expect(failed).toMatchObject({
      level: 'warn',
      sni: EKS,
      error: {
        code: 'EKL_DNS_FAILED',
        message: expect.stringMatching(
          /failed \(ESERVFAIL\); the last good answer is \d+ ms old \(dns.staleMaxAgeMs is 1500\)/,
        ),
        source: 'upstream',
      },
    });
    expect(failed.upstreamAddress).toBeUndefined();
    expect([...observer.connects.values()].reduce((a, b) => a + b, 0)).toBe(connectsBefore);
    expect(observer.dns.get('error')).toBeGreaterThanOrEqual(1);

    // A silent server fails within the DNS timeout too, not a client-visible hang.
    dns.fail('drop');
    const t0 = Date.now();
    const before = proxy.sink.connections.length;
    await expect(connect()).rejects.toThrow();
    expect(Date.now() - t0).toBeLessThan(2000);
    await proxy.sink.waitForConnections(before + 1);

    // DNS is back: a fresh answer (the ENI moved meanwhile) serves at once.
    dns.fail(null);
    const n = proxy.sink.connections.length;
    expect(await connect()).toBe(ENI);
    const recovered = (await proxy.sink.waitForConnections(n + 1))[n]!;
    expect(recovered).toMatchObject({ reason: 'ok' });
    expect(recovered.dnsStale).toBeUndefined();
  });

  it('with the default DNS settings and the resolver frozen, serves from the last good answer within the deadline', async () => {
    const defaults = await startProxy('127.0.105.2', {
      routes: [{ sni: EKS, upstreamPort: upstreams.port }],
      allowedUpstreamCidrs: ['127.0.105.0/24'],
      dns: { servers: [dns.server] }, // timeoutMs 2000 x tries 2, serveStaleAfterMs 300
    });
    try {
      dns.fail(null);
      dns.set(EKS, { a: [ENI] });
      expect(await whoServes(defaults.host, defaults.port, EKS, pki.caCertPem)).toBe(ENI);
      dns.fail('drop');
      const ms: number[] = [];
      for (let i = 0; i < 20; i++) {
        const t0 = performance.now();
        expect(await whoServes(defaults.host, defaults.port, EKS, pki.caCertPem, 5000)).toBe(ENI);
        ms.push(performance.now() - t0);
        await new Promise((r) => setTimeout(r, 25));
      }
      ms.sort((a, b) => a - b);
      const p99 = ms[Math.ceil(ms.length * 0.99) - 1]!;
      // The deadline, not a failed query (4 s away), is what served them.
      expect(p99).toBeLessThan(1000);
      await defaults.sink.waitForConnections(21);
      // The first ones after the freeze still share the last answer (dns.shareWindowMs).
      const stale = defaults.sink.connections.filter((l) => l.dnsStale === true);
      expect(stale.length).toBeGreaterThanOrEqual(15);
      expect(defaults.sink.connections.every((l) => l.reason === 'ok')).toBe(true);
    } finally {
      dns.fail(null);
      await defaults.close();
    }
  });
});
