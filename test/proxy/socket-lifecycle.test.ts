import { once } from 'node:events';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestDnsServer } from '../../standins/dns-server.js';
import { ProxyMetrics } from '../../proxy/process/metrics.js';
import { captureClientHello, closeServer, startProxy, type TestProxy } from './helpers.js';
import { parseMetrics } from './lifecycle-harness.js';

// This file's loopback block: 127.0.121.0/24.
const EKS = '0011aabb0011aabb0011aabb0011aabb.gr7.us-east-1.eks.amazonaws.com';
const UPSTREAM = '127.0.121.11';
let dns: TestDnsServer;
let hello: Buffer;
let upstream: net.Server;
let upstreamPort: number;
/** What the upstream does with each connection; set per test. */
let behaviour: (socket: net.Socket) => void = () => {};
let proxy: TestProxy;
let metrics: ProxyMetrics;
const upstreamSockets = new Set<net.Socket>();

beforeAll(async () => {
  dns = await TestDnsServer.start({ host: '127.0.121.53' });
  dns.set(EKS, { a: [UPSTREAM] });
  hello = await captureClientHello('127.0.121.1', { servername: EKS });
  upstream = net.createServer({ allowHalfOpen: true }, (s) => {
    upstreamSockets.add(s);
    s.on('error', () => {});
    behaviour(s);
  });
  upstream.listen({ host: UPSTREAM, port: 0 });
  await once(upstream, 'listening');
  upstreamPort = (upstream.address() as net.AddressInfo).port;
  metrics = new ProxyMetrics({ routes: ['up'] });
  proxy = await startProxy(
    '127.0.121.1',
    {
      routes: [{ sni: EKS, upstreamPort, name: 'up' }],
      allowedUpstreamCidrs: ['127.0.121.0/24'],
      dns: { servers: [dns.server], timeoutMs: 500, tries: 1 },
      connections: { halfCloseTimeoutMs: 400 },
    },
    { observer: metrics },
  );
  metrics.beforeCollect = () => proxy.server.flushByteCounts();
});

afterAll(async () => {
  await proxy.close();
  for (const s of upstreamSockets) s.destroy();
  await closeServer(upstream);
  await dns.close();
});

/** A raw client: sends the ClientHello, then whatever `then` does. */
async function client(): Promise<net.Socket> {
  const s = net.connect({ host: proxy.host, port: proxy.port, allowHalfOpen: true });
  s.on('error', () => {});
  await once(s, 'connect');
  s.write(hello);
  return s;
}

const lines = (): number => proxy.sink.connections.length;

describe('socket lifecycle', () => {
  it(
    'when the upstream resets, the client still gets every byte the proxy had read from it',
    { timeout: 8000 },
    async () => {
      behaviour = (s) => {
        s.once('data', () => {
          // Far more than the socket buffers hold while the client does not read, then RST.
          const chunk = Buffer.alloc(64 * 1024, 0x61);
          for (let i = 0; i < 64; i++) s.write(chunk);
          setTimeout(() => s.resetAndDestroy(), 300);
        });
      };
      const n = lines();
      const c = await client();
      c.pause();
      await new Promise((r) => setTimeout(r, 600));
      let received = 0;
      c.on('data', (d: Buffer) => (received += d.length));
      c.on('end', () => c.end());
      c.resume();
      await once(c, 'close');
      const [line] = (await proxy.sink.waitForConnections(n + 1)).slice(n);
      expect(line).toMatchObject({ reason: 'upstream_error', errno: 'ECONNRESET' });
      expect(line!.bytesFromUpstream as number).toBeGreaterThan(0);
      expect(received).toBe(line!.bytesFromUpstream);
    },
  );

  it('closes a half-closed connection whose other direction never ends, after halfCloseTimeoutMs', async () => {
    behaviour = () => {}; // reads, never answers, never ends
    const n = lines();
    const t0 = Date.now();
    const c = await client();
    await new Promise((r) => setTimeout(r, 50));
    c.end();
    c.resume();
    await once(c, 'close');
    const ms = Date.now() - t0;
    expect(ms).toBeGreaterThanOrEqual(400);
    expect(ms).toBeLessThan(2000);
    const [line] = (await proxy.sink.waitForConnections(n + 1)).slice(n);
    expect(line).toMatchObject({ reason: 'half_close_timeout', bytesFromClient: hello.length });
  });

  it('a half-close that the other side completes is a clean close (ok)', async () => {
    let got: () => void = () => {};
    const upstreamGotHello = new Promise<void>((r) => (got = r));
    behaviour = (s) => {
      s.once('data', () => got());
      s.on('end', () => s.end('bye'));
    };
    const n = lines();
    const c = await client();
    await upstreamGotHello;
    c.end();
    let text = '';
    c.on('data', (d: Buffer) => (text += d.toString()));
    await once(c, 'close');
    expect(text).toBe('bye');
    const [line] = (await proxy.sink.waitForConnections(n + 1)).slice(n);
    expect(line).toMatchObject({ reason: 'ok', bytesFromUpstream: 3 });
    expect(line!.errno).toBeUndefined();
  });

  it('byte counters move while a long connection is open, and the close adds only the rest', async () => {
    let up: net.Socket | undefined;
    behaviour = (s) => {
      up = s;
      s.once('data', () => s.write(Buffer.alloc(100_000, 0x62)));
    };
    const counted = async (): Promise<number> =>
      parseMetrics(await metrics.registry.metrics()).get(
        'ekslink_proxied_bytes_total{route="up",direction="upstream_to_client"}',
      ) ?? 0;
    const before = await counted();
    const n = lines();
    const c = await client();
    let received = 0;
    c.on('data', (d: Buffer) => (received += d.length));
    while (received < 100_000) await new Promise((r) => setTimeout(r, 10));
    // Still open: the counter has moved already.
    expect((await counted()) - before).toBe(100_000);
    up!.write(Buffer.alloc(5000, 0x63));
    while (received < 105_000) await new Promise((r) => setTimeout(r, 10));
    expect((await counted()) - before).toBe(105_000);
    up!.end();
    c.end();
    await once(c, 'close');
    await proxy.sink.waitForConnections(n + 1);
    expect((await counted()) - before).toBe(105_000);
    const upToClient = parseMetrics(await metrics.registry.metrics()).get(
      'ekslink_proxied_bytes_total{route="up",direction="client_to_upstream"}',
    );
    expect(upToClient).toBeGreaterThanOrEqual(hello.length);
  });

  it('/metrics stays finite under back-to-back and concurrent scrapes (no NaN event-loop lag)', async () => {
    const texts: string[] = [];
    for (let i = 0; i < 5; i++) texts.push(await metrics.registry.metrics());
    texts.push(...(await Promise.all(Array.from({ length: 5 }, () => metrics.registry.metrics()))));
    for (const text of texts) {
      const m = parseMetrics(text);
      const lag = [...m].filter(([k]) => k.startsWith('ekslink_nodejs_eventloop_lag'));
      expect(lag.length).toBeGreaterThanOrEqual(8);
      for (const [k, v] of m) expect(Number.isFinite(v), `${k} = ${v}`).toBe(true);
      expect(m.get('ekslink_nodejs_eventloop_lag_max_seconds')).toBeLessThan(60);
    }
  });
});
