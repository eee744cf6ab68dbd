import { createServer, type Server } from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../common/logger.js';
import { AddressPolicy } from '../../proxy/upstream/address-policy.js';
import { routeSchema, type Route } from '../../proxy/config/schema.js';
import { HealthServer } from '../../proxy/process/health-server.js';
import { ProxyMetrics } from '../../proxy/process/metrics.js';
import { Prober, type ProberSettings } from '../../proxy/process/prober.js';
import { Resolver } from '../../proxy/upstream/resolver.js';
import { EksStandin } from '../../standins/eks-standin.js';
import { TestDnsServer } from '../../standins/dns-server.js';
import { createPki, type TestPki } from '../../standins/pki.js';

// This file's loopback block: 127.0.201.0/24.
const SNI = 'abc.gr7.us-east-1.eks.amazonaws.com';
const OTHER = 'other.gr7.us-east-1.eks.amazonaws.com';
let dns: TestDnsServer;
let pki: TestPki;
let standin: EksStandin;
let tcp: Server;
let tcpPort: number;

function lines(): { stream: Writable; events: () => Record<string, unknown>[] } {
  const out: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      out.push(...chunk.toString().split('\n').filter(Boolean));
      cb();
    },
  });
  return { stream, events: () => out.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

function route(sni: string, port: number): Route {
  return routeSchema.parse({ sni, upstreamPort: port });
}

function makeProber(settings: Partial<ProberSettings> & Pick<ProberSettings, 'routes'>) {
  const log = lines();
  const metrics = new ProxyMetrics({ processMetrics: false });
  const resolver = new Resolver({
    servers: [dns.server],
    timeoutMs: 200,
    tries: 1,
    staleMaxAgeMs: 0,
    shareWindowMs: 0,
    ipv6: false,
  });
  const prober = new Prober({
    resolver,
    policy: AddressPolicy.fromCidrs(['127.0.201.0/24']),
    connectTimeoutMs: 300,
    intervalMs: 50,
    successThreshold: 2,
    failureThreshold: 3,
    logger: createLogger({ level: 'info', destination: log.stream }),
    observer: metrics,
    ...settings,
  });
  return { prober, metrics, log };
}

beforeAll(async () => {
  dns = await TestDnsServer.start();
  pki = await createPki({ dnsNames: [SNI] });
  standin = await EksStandin.start({ addresses: ['127.0.201.10'], pki });
  tcp = createServer((s) => s.destroy());
  await new Promise<void>((r) => tcp.listen(0, '127.0.201.20', () => r()));
  tcpPort = (tcp.address() as { port: number }).port;
});

afterAll(async () => {
  await Promise.all([dns.close(), standin.close(), new Promise((r) => tcp.close(r))]);
});

describe('Prober', () => {
  it('becomes ready only after successThreshold passing rounds and unready only after failureThreshold failures', async () => {
    dns.set(SNI, { a: ['127.0.201.20'] });
    const { prober, metrics, log } = makeProber({ routes: [route(SNI, tcpPort)] });
    expect(prober.status()).toMatchObject({ ready: false, probed: false });
    expect(await prober.probeOnce()).toBe(true);
    expect(prober.ready).toBe(false);
    expect(await prober.probeOnce()).toBe(true);
    expect(prober.ready).toBe(true);
    expect(await metrics.registry.getSingleMetricAsString('ekslink_ready')).toContain('ekslink_ready 1');

    dns.fail('servfail');
    expect(await prober.probeOnce()).toBe(false);
    expect(await prober.probeOnce()).toBe(false);
    expect(prober.ready).toBe(true);
    expect(await prober.probeOnce()).toBe(false);
    expect(prober.ready).toBe(false);
    expect(prober.status().routes).toMatchObject([{ name: 'abc', ok: false, result: 'dns_failed' }]);
    dns.fail(null);

    const text = await metrics.registry.metrics();
    expect(text).toContain('ekslink_probes_total{route="abc",result="ok"} 2');
    expect(text).toContain('ekslink_probes_total{route="abc",result="dns_failed"} 3');
    expect(text).toContain('ekslink_ready 0');
    const events = log.events().map((e) => e.event);
    expect(events).toEqual(['ready', 'not_ready']);
  });

  it('fails a route whose addresses are all outside the policy, or that refuses connections', async () => {
    dns.set(SNI, { a: ['10.9.9.9', '169.254.169.254'] });
    const { prober } = makeProber({ routes: [route(SNI, tcpPort)], successThreshold: 1 });
    expect(await prober.probeOnce()).toBe(false);
    expect(prober.status().routes[0]).toMatchObject({ result: 'no_allowed_address' });

    dns.set(SNI, { a: ['127.0.201.21'] }); // nothing listens there
    expect(await prober.probeOnce()).toBe(false);
    expect(prober.status().routes[0]).toMatchObject({
      result: 'connect_failed',
      detail: 'EKL_UPSTREAM_CONNECT_FAILED',
    });
  });

  it('passes when every route resolves and at least one upstream answers', async () => {
    dns.set(SNI, { a: ['127.0.201.20'] });
    dns.set(OTHER, { a: ['127.0.201.21'] });
    const { prober } = makeProber({
      routes: [route(SNI, tcpPort), route(OTHER, tcpPort)],
      successThreshold: 1,
    });
    expect(await prober.probeOnce()).toBe(true);
    expect(prober.status().routes.map((r) => r.result)).toEqual(['ok', 'connect_failed']);
    dns.delete(OTHER);
    expect(await prober.probeOnce()).toBe(false);
  });

  it('deep probe: HTTPS GET /readyz with the SNI and the cluster CA; a wrong CA fails', async () => {
    dns.set(SNI, { a: ['127.0.201.10'] });
    const good = makeProber({
      routes: [route(SNI, standin.port)],
      successThreshold: 1,
      deepProbe: { ca: pki.caCertPem, path: '/readyz' },
    });
    expect(await good.prober.probeOnce()).toBe(true);
    expect(good.prober.ready).toBe(true);
    expect(standin.servedCount('127.0.201.10')).toBeGreaterThan(0);

    const otherPki = await createPki({ dnsNames: [SNI] });
    const bad = makeProber({
      routes: [route(SNI, standin.port)],
      successThreshold: 1,
      deepProbe: { ca: otherPki.caCertPem, path: '/readyz' },
    });
    expect(await bad.prober.probeOnce()).toBe(false);
    expect(bad.prober.status().routes[0]).toMatchObject({ result: 'deep_probe_failed' });

    const notFound = makeProber({
      routes: [route(SNI, standin.port)],
      successThreshold: 1,
      deepProbe: { ca: pki.caCertPem, path: '/no-such-path' },
    });
    expect(await notFound.prober.probeOnce()).toBe(false);
    expect(notFound.prober.status().routes[0]).toMatchObject({
      result: 'deep_probe_failed',
      detail: 'HTTP 404',
    });
  });

  it('runs in the background; health requests read the cached verdict and never query DNS', async () => {
    dns.set(SNI, { a: ['127.0.201.20'] });
    const { prober } = makeProber({ routes: [route(SNI, tcpPort)], intervalMs: 60_000, successThreshold: 1 });
    prober.start();
    const health = new HealthServer({
      host: '127.0.0.1',
      port: 0,
      logger: createLogger({ level: 'silent' }),
      source: { readiness: () => prober.status(), metrics: async () => '' },
    });
    const { port } = await health.listen();
    try {
      await expect.poll(() => prober.ready).toBe(true);
      const before = dns.queryCount(SNI);
      for (let i = 0; i < 20; i++) {
        const res = await fetch(`http://127.0.0.1:${port}/readyz`);
        expect(res.status).toBe(200);
        await res.text();
      }
      expect(dns.queryCount(SNI)).toBe(before);
    } finally {
      await prober.stop();
      await health.close();
    }
  });
});
