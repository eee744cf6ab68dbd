import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProxyConfigInput } from '../../proxy/config/schema.js';
import { CLOSE_REASONS } from '../../proxy/close-reason.js';
import { ProxyMetrics } from '../../proxy/process/metrics.js';
import { TestDnsServer } from '../../standins/dns-server.js';
import { createPki, type TestPki } from '../../standins/pki.js';
import { parseMetrics, ProxyProcess, startStreamUpstream, tryHandshake } from './lifecycle-harness.js';

// This file's loopback block: 127.0.213.0/24.
const OK = 'ok.gr7.us-east-1.eks.amazonaws.com';
const DOWN = 'down.gr7.us-east-1.eks.amazonaws.com';
const NX = 'nx.gr7.us-east-1.eks.amazonaws.com';
const STRANGER = 'stranger.example.com';
let dns: TestDnsServer;
let pki: TestPki;
let upstream: Awaited<ReturnType<typeof startStreamUpstream>>;
let proxy: ProxyProcess;

beforeAll(async () => {
  dns = await TestDnsServer.start();
  pki = await createPki({ dnsNames: [OK, DOWN, NX, STRANGER] });
  upstream = await startStreamUpstream('127.0.213.1', pki, 5);
  dns.set(OK, { a: ['127.0.213.1'] });
  dns.set(DOWN, { a: ['127.0.213.2'] }); // nothing listens there: connection refused
  const config: ProxyConfigInput = {
    listen: { host: '127.0.0.1', port: 0 },
    routes: [
      { sni: OK, upstreamPort: upstream.port, name: 'ok' },
      { sni: DOWN, upstreamPort: upstream.port, name: 'down' },
      { sni: NX, upstreamPort: upstream.port, name: 'nx' },
    ],
    allowedUpstreamCidrs: ['127.0.213.0/24'],
    dns: { servers: [dns.server], timeoutMs: 300, tries: 1, staleMaxAgeMs: 0 },
    health: { host: '127.0.0.1', port: 0, probeIntervalMs: 60_000 },
    drain: { graceSec: 0, deadlineSec: 1 },
    workers: 1,
  };
  proxy = await ProxyProcess.start(config);
});

afterAll(async () => {
  await proxy.kill();
  await Promise.all([dns.close(), upstream.close()]);
});

async function plainBytes(port: number, bytes: string): Promise<void> {
  const s = net.connect({ host: '127.0.0.1', port });
  s.on('error', () => {});
  s.end(bytes);
  await new Promise((r) => s.once('close', r));
}

describe('metrics', () => {
  it('counts exactly a scripted set of allowed, refused and failed connections', async () => {
    for (let i = 0; i < 3; i++) expect(await tryHandshake(proxy.port, OK, pki.caCertPem)).toBe('ok');
    for (let i = 0; i < 2; i++) {
      expect(await tryHandshake(proxy.port, STRANGER, pki.caCertPem)).toMatch(/UNRECOGNIZED_NAME/);
    }
    for (let i = 0; i < 2; i++) expect(await tryHandshake(proxy.port, DOWN, pki.caCertPem)).not.toBe('ok');
    expect(await tryHandshake(proxy.port, NX, pki.caCertPem)).not.toBe('ok');
    await plainBytes(proxy.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const total = 3 + 2 + 2 + 1 + 1;
    const lines = await (async () => {
      while (proxy.connections().length < total) await new Promise((r) => setTimeout(r, 20));
      return proxy.connections();
    })();

    const m = parseMetrics((await proxy.health('/metrics')).body);
    const closed = (route: string, reason: string) =>
      m.get(`ekslink_connections_closed_total{route="${route}",reason="${reason}"}`);
    expect(m.get('ekslink_connections_opened_total')).toBe(total);
    expect(m.get('ekslink_connections_active')).toBe(0);
    expect(closed('ok', 'ok')).toBe(3);
    expect(closed('none', 'sni_not_allowed')).toBe(2);
    expect(closed('down', 'upstream_connect_failed')).toBe(2);
    expect(closed('nx', 'dns_failed')).toBe(1);
    expect(closed('none', 'client_hello_invalid')).toBe(1);
    // Every other (route, reason) pair is still 0.
    const nonZero = [...m].filter(([k, v]) => k.startsWith('ekslink_connections_closed_total{') && v !== 0);
    expect(nonZero).toHaveLength(5);

    expect(m.get('ekslink_client_hello_rejections_total{reason="sni_not_allowed"}')).toBe(2);
    expect(m.get('ekslink_client_hello_rejections_total{reason="client_hello_invalid"}')).toBe(1);
    expect(m.get('ekslink_client_hello_rejections_total{reason="sni_missing"}')).toBe(0);
    expect(m.get('ekslink_proxy_header_rejections_total{reason="proxy_header_invalid"}')).toBe(0);

    expect(m.get('ekslink_upstream_connect_failures_total{route="down",reason="refused"}')).toBe(2);
    expect(m.get('ekslink_upstream_connect_duration_seconds_count{route="ok",result="ok"}')).toBe(3);
    expect(m.get('ekslink_upstream_connect_duration_seconds_count{route="down",result="refused"}')).toBe(2);
    expect(m.get('ekslink_dns_lookup_duration_seconds_count{route="ok",result="ok"}')).toBe(3);
    expect(m.get('ekslink_dns_lookup_duration_seconds_count{route="nx",result="error"}')).toBe(1);
    expect(m.get('ekslink_dns_stale_answers_total{route="ok"}')).toBe(0);
    expect(m.get('ekslink_connection_duration_seconds_count{route="ok"}')).toBe(3);

    // Bytes agree with the per-connection log lines.
    const sum = (key: string) =>
      lines.filter((l) => l.route === 'ok').reduce((a, l) => a + (l[key] as number), 0);
    expect(m.get('ekslink_proxied_bytes_total{route="ok",direction="client_to_upstream"}')).toBe(
      sum('bytesFromClient'),
    );
    expect(m.get('ekslink_proxied_bytes_total{route="ok",direction="upstream_to_client"}')).toBe(
      sum('bytesFromUpstream'),
    );
    expect(sum('bytesFromUpstream')).toBeGreaterThan(0);

    // Process metrics and the lifecycle gauges are there too; no label carries an address.
    expect(m.get('ekslink_process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(m.get('ekslink_draining')).toBe(0);
    expect([...m.keys()].filter((k) => /127\.0\.|\.com"/.test(k))).toEqual([]);
  });
});

describe('ProxyMetrics (in process)', () => {
  it('keeps registries apart, starts every series of a route at 0, and labels only from closed sets', async () => {
    const a = new ProxyMetrics({ routes: ['r1'], processMetrics: false });
    const b = new ProxyMetrics({ routes: ['r1'], processMetrics: false });
    a.connectionOpened();
    a.connectionClosed({
      id: '1',
      clientAddress: '10.0.0.1',
      clientPort: 1,
      bytesFromClient: 10,
      bytesFromUpstream: 20,
      durationMs: 1500,
      reason: 'ok',
      route: 'r1',
    });
    a.dnsLookup('r1', 'stale', 0.002);
    const ma = parseMetrics(await a.registry.metrics());
    const mb = parseMetrics(await b.registry.metrics());
    expect(ma.get('ekslink_connections_opened_total')).toBe(1);
    expect(mb.get('ekslink_connections_opened_total')).toBe(0);
    expect(ma.get('ekslink_dns_stale_answers_total{route="r1"}')).toBe(1);
    expect(ma.get('ekslink_connection_duration_seconds_sum{route="r1"}')).toBe(1.5);
    for (const reason of CLOSE_REASONS) {
      expect(mb.get(`ekslink_connections_closed_total{route="r1",reason="${reason}"}`)).toBe(0);
    }
    b.addRoutes(['r2']);
    expect(
      parseMetrics(await b.registry.metrics()).get(
        'ekslink_proxied_bytes_total{route="r2",direction="client_to_upstream"}',
      ),
    ).toBe(0);
  });

  it("reports the event loop's delay, not the sampler's interval: near 0 idle, a 300 ms block as 0.2-0.3 s", async () => {
    // Node's histogram records the time between its 100 ms firings; the gauges take the 100 off.
    const m = new ProxyMetrics({ routes: [] });
    const lag = async (): Promise<Map<string, number>> => parseMetrics(await m.registry.metrics());
    await new Promise((r) => setTimeout(r, 1200));
    const idle = await lag();
    const min = idle.get('ekslink_nodejs_eventloop_lag_min_seconds')!;
    expect(min).toBeGreaterThanOrEqual(0);
    expect(min).toBeLessThan(0.01);
    expect(idle.get('ekslink_nodejs_eventloop_lag_p50_seconds')).toBeLessThan(0.05);
    // Past the first interval after the read (its reset): Node does not record that one.
    await new Promise((r) => setTimeout(r, 250));
    const until = performance.now() + 300;
    while (performance.now() < until); // the loop blocked: the firing due meanwhile comes late
    await new Promise((r) => setTimeout(r, 250));
    const blocked = await lag();
    expect(blocked.get('ekslink_nodejs_eventloop_lag_max_seconds')).toBeGreaterThanOrEqual(0.15);
    expect(blocked.get('ekslink_nodejs_eventloop_lag_max_seconds')).toBeLessThan(1);
  });
});
