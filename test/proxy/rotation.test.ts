import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPki, type TestPki } from '../../standins/pki.js';
import { TestDnsServer } from '../../standins/dns-server.js';
import { CountingObserver, EchoUpstreams, startProxy, whoServes, type TestProxy } from './helpers.js';

// This file's loopback block: 127.0.104.0/24. Six "ENIs" stand in for the EKS control plane.
const EKS = 'fedcba9876543210fedcba9876543210.yl4.eu-west-1.eks.amazonaws.com';
const ENIS = [11, 12, 13, 14, 15, 16].map((n) => `127.0.104.${n}`);
let pki: TestPki;
let dns: TestDnsServer;
let upstreams: EchoUpstreams;
let proxy: TestProxy;
const observer = new CountingObserver();

beforeAll(async () => {
  pki = await createPki({ dnsNames: [EKS] });
  dns = await TestDnsServer.start({ host: '127.0.104.53' });
  upstreams = await EchoUpstreams.start(ENIS, pki.serverCertPem, pki.serverKeyPem);
  proxy = await startProxy(
    '127.0.104.1',
    {
      routes: [{ sni: EKS, upstreamPort: upstreams.port }],
      allowedUpstreamCidrs: ['127.0.104.0/24'],
      dns: { servers: [dns.server], timeoutMs: 1000, tries: 2 },
      upstream: { connectTimeoutMs: 1000, failureMemoryMs: 30_000 },
    },
    { observer },
  );
});

afterAll(async () => {
  await proxy.close();
  await upstreams.close();
  await dns.close();
});

/** Run `total` connections from `concurrency` clients; `beforeEach(i)` runs as connection i starts. */
async function load(
  total: number,
  concurrency: number,
  beforeEach: (i: number) => void | Promise<void>,
  each: (i: number, started: number) => Promise<void>,
): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const i = next++;
        await beforeEach(i);
        await each(i, performance.now());
      }
    }),
  );
  return performance.now() - t0;
}

describe('ENI rotation', () => {
  it('serves 2,000 new connections across 6 DNS answer changes, each from the answer current when it opened', async () => {
    // Consecutive answers share no address, and old ENIs keep listening (as EKS keeps them
    // for a while), so a connection dialled from a stale answer would still succeed: only
    // the address it reached can tell, and every upstream says which address it is.
    const answers = Array.from({ length: 7 }, (_, v) => [ENIS[(2 * v) % 6]!, ENIS[(2 * v + 1) % 6]!]);
    const changedAt: number[] = [];
    let version = 0;
    const setVersion = (v: number): void => {
      version = v;
      dns.set(EKS, { a: answers[v]!, ttlSec: 5 });
      changedAt[v] = performance.now();
    };
    setVersion(0);
    const TOTAL = 2100;
    const PER_VERSION = 300;
    const results: { opened: number; versionAtOpen: number; served: number; address: string }[] = [];
    const failures: string[] = [];

    const ms = await load(
      TOTAL,
      32,
      (i) => {
        if (i > 0 && i % PER_VERSION === 0) setVersion(i / PER_VERSION);
      },
      async (_i, opened) => {
        const versionAtOpen = version;
        try {
          const address = await whoServes(proxy.host, proxy.port, EKS, pki.caCertPem);
          results.push({ opened, versionAtOpen, served: performance.now(), address });
        } catch (err) {
          failures.push(String(err));
        }
      },
    );

    expect(failures).toEqual([]);
    expect(results).toHaveLength(TOTAL);
    expect(version).toBe(6);
    // The answer a connection gets is the one DNS gave to the lookup it started or joined (a
    // lookup already in flight is shared); that lookup began at most a DNS round trip before
    // the connection opened. Allow 100 ms for that, and nothing older.
    const SLACK_MS = 100;
    const versionAt = (t: number): number => changedAt.findLastIndex((c) => c <= t);
    let exact = 0;
    for (const r of results) {
      const allowed = new Set<string>();
      for (let v = Math.max(0, versionAt(r.opened - SLACK_MS)); v <= versionAt(r.served); v++) {
        for (const a of answers[v]!) allowed.add(a);
      }
      expect(allowed, `opened at v${r.versionAtOpen}, served by ${r.address}`).toContain(r.address);
      if (answers[r.versionAtOpen]!.includes(r.address)) exact++;
    }
    // Most connections resolve within the version they opened in; the rest opened just before a change.
    expect(exact / TOTAL).toBeGreaterThan(0.8);
    // Every ENI served, and both addresses of each answer got traffic.
    for (const eni of ENIS) expect(upstreams.accepted.get(eni) ?? 0).toBeGreaterThan(50);
    // Re-resolved per connection (lookups in flight are shared), not cached for the TTL: a
    // TTL-honouring cache would need one query per answer change plus one per TTL elapsed.
    const ttlCacheQueries = answers.length + Math.ceil(ms / 5000);
    expect(dns.queryCount(EKS)).toBeGreaterThan(2 * ttlCacheQueries);
    console.log(
      `rotation: ${TOTAL} TLS connections in ${Math.round(ms)} ms (${Math.round((TOTAL / ms) * 1000)}/s), ` +
        `${dns.queryCount(EKS)} DNS queries, ${exact} served from the answer current at open`,
    );
  });

  it('fails over with zero client failures when the old address stops listening before DNS changes', async () => {
    // EKS removes an ENI while the DNS answer (TTL) still names it: A stops listening, DNS
    // still says A, B; later the answer moves to B, C, then B stops listening; then C, D.
    const [a, b, c, d] = ENIS as [string, string, string, string];
    const refusedBefore = observer.connects.get('refused') ?? 0;
    const failures: string[] = [];
    const served = new Map<string, number>();
    const batch = (n: number): Promise<number> =>
      load(
        n,
        8,
        () => {},
        async () => {
          try {
            const address = await whoServes(proxy.host, proxy.port, EKS, pki.caCertPem);
            served.set(address, (served.get(address) ?? 0) + 1);
          } catch (err) {
            failures.push(String(err));
          }
        },
      );
    const servedBy = (x: string): number => served.get(x) ?? 0;

    dns.set(EKS, { a: [a, b] });
    await batch(100);
    expect(servedBy(a)).toBeGreaterThan(0);
    await upstreams.stop(a);
    const aBefore = servedBy(a);
    await batch(100); // DNS still answers A, B
    expect(servedBy(a)).toBe(aBefore);
    dns.set(EKS, { a: [b, c] });
    await batch(100);
    await upstreams.stop(b);
    const bBefore = servedBy(b);
    await batch(100); // DNS still answers B, C
    expect(servedBy(b)).toBe(bBefore);
    dns.set(EKS, { a: [c, d] });
    await batch(100);

    expect(failures).toEqual([]);
    expect([...served.values()].reduce((x, y) => x + y, 0)).toBe(500);
    // A removed address cost a refused attempt to at most the connections in flight, then the
    // failure memory put it last.
    const refused = (observer.connects.get('refused') ?? 0) - refusedBefore;
    expect(refused).toBeGreaterThan(0);
    expect(refused).toBeLessThanOrEqual(2 * 8);
    await upstreams.start(a);
    await upstreams.start(b);
  });
});
