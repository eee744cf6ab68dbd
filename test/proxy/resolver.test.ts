import dgram from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestDnsServer } from '../../standins/dns-server.js';
import { AAAA_GRACE_MS, Resolver, type ResolverOptions } from '../../proxy/upstream/resolver.js';
import { decodeQuery, encodeResponse, RCODE, TYPE_A, TYPE_AAAA } from '../../standins/dns-wire.js';

// This file's loopback block: 127.0.102.0/24.
const NAME = 'abc.gr7.us-east-1.eks.amazonaws.com';
let dns: TestDnsServer;

beforeAll(async () => {
  dns = await TestDnsServer.start({ host: '127.0.102.53' });
});
afterAll(() => dns.close());

function resolver(o: Partial<ResolverOptions> = {}): Resolver {
  return new Resolver({
    servers: [dns.server],
    timeoutMs: 200,
    tries: 1,
    staleMaxAgeMs: 30_000,
    shareWindowMs: 0,
    ipv6: false,
    ...o,
  });
}

describe('Resolver', () => {
  it('asks the configured server on every call: no cache beyond the query in flight', async () => {
    dns.fail(null);
    dns.set(NAME, { a: ['10.0.1.10', '10.0.2.10'], ttlSec: 300 });
    const r = resolver();
    const before = dns.queryCount(NAME);
    expect(await r.resolve(NAME)).toEqual({ addresses: ['10.0.1.10', '10.0.2.10'], stale: false });
    dns.set(NAME, { a: ['10.0.3.10'], ttlSec: 300 });
    expect(await r.resolve(NAME)).toEqual({ addresses: ['10.0.3.10'], stale: false });
    await r.resolve(NAME);
    expect(dns.queryCount(NAME) - before).toBe(3);
  });

  it('shares one query among concurrent lookups of one name', async () => {
    dns.fail(null);
    dns.set(NAME, { a: ['10.0.1.10'] });
    const r = resolver();
    const before = dns.queryCount(NAME);
    const answers = await Promise.all(Array.from({ length: 50 }, () => r.resolve(NAME)));
    expect(new Set(answers.map((a) => a.addresses.join()))).toEqual(new Set(['10.0.1.10']));
    expect(dns.queryCount(NAME) - before).toBe(1);
  });

  it('looks up AAAA too when ipv6 is on, IPv4 first', async () => {
    dns.fail(null);
    dns.set(NAME, { a: ['10.0.1.10'], aaaa: ['fd00::10'] });
    expect((await resolver({ ipv6: true }).resolve(NAME)).addresses).toEqual(['10.0.1.10', 'fd00::10']);
    dns.set('v6only.example', { aaaa: ['fd00::11'] });
    expect((await resolver({ ipv6: true }).resolve('v6only.example')).addresses).toEqual(['fd00::11']);
    expect((await resolver({ ipv6: false }).resolve(NAME)).addresses).toEqual(['10.0.1.10']);
  });

  it('serves the last good answer while DNS fails, within staleMaxAgeMs only, then recovers', async () => {
    let now = 1_000_000;
    dns.fail(null);
    dns.set(NAME, { a: ['10.0.1.10'] });
    const r = resolver({ staleMaxAgeMs: 10_000, now: () => now });
    await r.resolve(NAME);
    for (const mode of ['servfail', 'refused', 'drop'] as const) {
      dns.fail(mode);
      now += 1000;
      expect(await r.resolve(NAME)).toEqual({ addresses: ['10.0.1.10'], stale: true });
    }
    dns.fail('servfail');
    now += 7001;
    await expect(r.resolve(NAME)).rejects.toMatchObject({
      code: 'EKL_DNS_FAILED',
      source: 'upstream',
      message: expect.stringMatching(
        /failed \(ESERVFAIL\); the last good answer is 10001 ms old \(dns.staleMaxAgeMs is 10000\)/,
      ),
    });
    dns.fail(null);
    dns.set(NAME, { a: ['10.0.9.9'] });
    expect(await r.resolve(NAME)).toEqual({ addresses: ['10.0.9.9'], stale: false });
  });

  it('fails clearly with no earlier answer, and never serves stale when staleMaxAgeMs is 0', async () => {
    dns.fail(null);
    await expect(resolver().resolve('unknown.example')).rejects.toMatchObject({
      code: 'EKL_DNS_FAILED',
      message: expect.stringMatching(
        /unknown\.example via 127\.0\.102\.53:\d+ failed \(ENOTFOUND\); the name does not exist/,
      ),
    });
    dns.set(NAME, { a: ['10.0.1.10'] });
    const r = resolver({ staleMaxAgeMs: 0 });
    await r.resolve(NAME);
    dns.fail('servfail');
    await expect(r.resolve(NAME)).rejects.toMatchObject({ code: 'EKL_DNS_FAILED' });
    dns.fail(null);
  });

  it('times out a silent server within the configured timeout', async () => {
    dns.fail('drop');
    const started = Date.now();
    await expect(resolver({ timeoutMs: 150, tries: 1 }).resolve(NAME)).rejects.toMatchObject({
      message: expect.stringContaining('ETIMEOUT'),
    });
    expect(Date.now() - started).toBeLessThan(3000);
    dns.fail(null);
  });

  it('switches servers on reconfigure and keeps the last good answers', async () => {
    const other = await TestDnsServer.start({ host: '127.0.102.54' });
    try {
      other.set(NAME, { a: ['10.0.7.7'] });
      dns.fail(null);
      dns.set(NAME, { a: ['10.0.1.10'] });
      const r = resolver();
      await r.resolve(NAME);
      const opts = {
        servers: [other.server],
        timeoutMs: 200,
        tries: 1,
        staleMaxAgeMs: 30_000,
        shareWindowMs: 0,
        ipv6: false,
      };
      r.reconfigure(opts);
      expect(r.servers).toEqual([other.server]);
      expect((await r.resolve(NAME)).addresses).toEqual(['10.0.7.7']);
      other.fail('servfail');
      expect(await r.resolve(NAME)).toEqual({ addresses: ['10.0.7.7'], stale: true });
    } finally {
      await other.close();
    }
  });

  it('does not wait out the DNS timeout for AAAA when A has answered (a resolver that drops AAAA)', async () => {
    const server = await aOnlyServer('127.0.102.55', '10.0.1.10');
    try {
      const r = resolver({ servers: [`127.0.102.55:${server.port}`], ipv6: true, timeoutMs: 1500 });
      const started = performance.now();
      expect(await r.resolve(NAME)).toEqual({ addresses: ['10.0.1.10'], stale: false });
      expect(performance.now() - started).toBeLessThan(AAAA_GRACE_MS + 500);
      expect(server.aaaaQueries()).toBeGreaterThan(0);
    } finally {
      await server.close();
    }
  });
});

describe('Resolver timing and query rate', () => {
  it('serves the last good answer after serveStaleAfterMs while the query runs on, and the query refreshes it', async () => {
    dns.fail(null);
    dns.delay(0);
    dns.set(NAME, { a: ['10.0.1.10'] });
    const r = resolver({ timeoutMs: 2000, tries: 2, serveStaleAfterMs: 100 });
    await r.resolve(NAME);
    // A slow resolver that has the new answer: the old one serves at the deadline...
    dns.delay(600);
    dns.set(NAME, { a: ['10.0.2.20'] });
    let t0 = performance.now();
    expect(await r.resolve(NAME)).toEqual({ addresses: ['10.0.1.10'], stale: true });
    expect(performance.now() - t0).toBeLessThan(400);
    // ...a lookup joining the same query does not wait again...
    t0 = performance.now();
    expect(await r.resolve(NAME)).toEqual({ addresses: ['10.0.1.10'], stale: true });
    expect(performance.now() - t0).toBeLessThan(50);
    // ...and the query, finished in the background, is what serves next.
    await new Promise((res) => setTimeout(res, 700));
    t0 = performance.now();
    expect(await r.resolve(NAME)).toEqual({ addresses: ['10.0.2.20'], stale: true });
    expect(performance.now() - t0).toBeLessThan(400);
    dns.delay(0);
    await new Promise((res) => setTimeout(res, 700));
    expect(await r.resolve(NAME)).toEqual({ addresses: ['10.0.2.20'], stale: false });
  });

  it('fails within timeoutMs x tries x servers when there is nothing to serve, one packet per try', async () => {
    const silent = await TestDnsServer.start({ host: '127.0.102.56' });
    try {
      dns.fail('drop');
      silent.fail('drop');
      const r = resolver({ servers: [dns.server, silent.server], timeoutMs: 150, tries: 2 });
      expect(r.worstCaseMs).toBe(600);
      const before = dns.queryCount('fresh.example') + silent.queryCount('fresh.example');
      const t0 = performance.now();
      await expect(r.resolve('fresh.example')).rejects.toMatchObject({
        code: 'EKL_DNS_FAILED',
        message: expect.stringContaining('(ETIMEOUT); no earlier answer'),
      });
      const ms = performance.now() - t0;
      expect(ms).toBeGreaterThanOrEqual(590);
      expect(ms).toBeLessThan(600 + 250);
      expect(dns.queryCount('fresh.example') + silent.queryCount('fresh.example') - before).toBe(4);
    } finally {
      dns.fail(null);
      await silent.close();
    }
  });

  it('NXDOMAIN fails at once and forgets the last good answer; SERVFAIL and timeouts serve it', async () => {
    dns.fail(null);
    dns.set(NAME, { a: ['10.0.1.10'] });
    const r = resolver({ staleMaxAgeMs: 60_000 });
    await r.resolve(NAME);
    dns.fail('servfail');
    expect(await r.resolve(NAME)).toEqual({ addresses: ['10.0.1.10'], stale: true });
    dns.fail(null);
    dns.delete(NAME);
    await expect(r.resolve(NAME)).rejects.toMatchObject({
      code: 'EKL_DNS_FAILED',
      retryable: false,
      message: expect.stringContaining('(ENOTFOUND); the name does not exist'),
    });
    // The name is gone: an outage afterwards has nothing old to serve.
    dns.fail('servfail');
    await expect(r.resolve(NAME)).rejects.toMatchObject({
      message: expect.stringContaining('(ESERVFAIL); no earlier answer'),
    });
    dns.fail(null);
  });

  it('sends at most one query per name per shareWindowMs, at any lookup rate, answering or not', async () => {
    dns.set(NAME, { a: ['10.0.1.10'] });
    for (const mode of [null, 'servfail', 'drop'] as const) {
      dns.fail(null);
      const r = resolver({ shareWindowMs: 100, timeoutMs: 100, tries: 1, serveStaleAfterMs: 20 });
      await r.resolve(NAME);
      dns.fail(mode);
      const before = dns.queryCount(NAME);
      const until = performance.now() + 1000;
      let lookups = 0;
      // Bursts of concurrent lookups, back to back, for one second.
      while (performance.now() < until) {
        const burst = await Promise.all(Array.from({ length: 20 }, () => r.resolve(NAME)));
        lookups += burst.length;
        expect(burst.every((b) => b.addresses[0] === '10.0.1.10')).toBe(true);
        await new Promise((res) => setImmediate(res));
      }
      const queries = dns.queryCount(NAME) - before;
      expect(lookups, String(mode)).toBeGreaterThan(200);
      expect(queries, String(mode)).toBeLessThanOrEqual(11);
      expect(queries, String(mode)).toBeGreaterThanOrEqual(4);
    }
    dns.fail(null);
  });

  it('a DNS change reaches lookups one share window later', async () => {
    dns.fail(null);
    dns.set(NAME, { a: ['10.0.1.10'] });
    const r = resolver({ shareWindowMs: 100 });
    expect((await r.resolve(NAME)).addresses).toEqual(['10.0.1.10']);
    dns.set(NAME, { a: ['10.0.3.30'] });
    expect((await r.resolve(NAME)).addresses).toEqual(['10.0.1.10']);
    await new Promise((res) => setTimeout(res, 120));
    expect((await r.resolve(NAME)).addresses).toEqual(['10.0.3.30']);
  });
});

/** A real DNS server on UDP that answers A queries and never answers AAAA ones. */
async function aOnlyServer(
  host: string,
  address: string,
): Promise<{ port: number; aaaaQueries: () => number; close: () => Promise<void> }> {
  const udp = dgram.createSocket('udp4');
  let aaaa = 0;
  udp.on('message', (msg, rinfo) => {
    const q = decodeQuery(msg);
    if (q === undefined) return;
    if (q.qtype === TYPE_AAAA) {
      aaaa++;
      return;
    }
    const answers = q.qtype === TYPE_A ? [{ type: TYPE_A, address, ttlSec: 5 } as const] : [];
    udp.send(encodeResponse(q, { rcode: RCODE.noError, answers }), rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => udp.bind(0, host, resolve));
  return {
    port: udp.address().port,
    aaaaQueries: () => aaaa,
    close: () => new Promise<void>((resolve) => udp.close(() => resolve())),
  };
}
