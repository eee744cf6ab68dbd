import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../common/logger.js';
import { HealthServer, type Readiness } from '../../proxy/process/health-server.js';
import { ProxyMetrics } from '../../proxy/process/metrics.js';
import { encodeProxyHeader } from './proxy-header-encoder.js';

const HOST = '127.0.0.1';
let server: HealthServer;
let port: number;
let readiness: Readiness;
const metrics = new ProxyMetrics({ routes: ['alpha'], processMetrics: false });

/** Send raw bytes in the given pieces and read the whole response (Connection: close). */
async function raw(pieces: Buffer[], gapMs = 20): Promise<string> {
  const socket = connect({ host: HOST, port });
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  socket.on('error', () => {});
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  for (const p of pieces) {
    socket.write(p);
    await sleep(gapMs);
  }
  await done;
  return Buffer.concat(chunks).toString('latin1');
}

function get(path: string, method = 'GET'): Buffer {
  return Buffer.from(`${method} ${path} HTTP/1.1\r\nHost: target\r\nConnection: close\r\n\r\n`);
}

const LOCAL = encodeProxyHeader({ command: 'local', family: 'unspec' });

beforeEach(async () => {
  readiness = { ready: true };
  server = new HealthServer({
    host: HOST,
    port: 0,
    logger: createLogger({ level: 'silent' }),
    proxyHeaderTimeoutMs: 300,
    source: { readiness: () => readiness, metrics: () => metrics.registry.metrics() },
  });
  port = (await server.listen()).port;
});

afterEach(async () => {
  await server.close();
});

describe('health port', () => {
  it('serves /healthz, /readyz (200 or 503 from the cached verdict) and /metrics over plain HTTP', async () => {
    const h = await fetch(`http://${HOST}:${port}/healthz`);
    expect([h.status, await h.text()]).toEqual([200, 'ok\n']);
    const r = await fetch(`http://${HOST}:${port}/readyz`);
    expect([r.status, await r.json()]).toEqual([200, { ready: true }]);
    readiness = { ready: false, reason: 'draining' };
    const r2 = await fetch(`http://${HOST}:${port}/readyz`);
    expect([r2.status, await r2.json()]).toEqual([503, { ready: false, reason: 'draining' }]);
    const m = await fetch(`http://${HOST}:${port}/metrics`);
    expect(m.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await m.text()).toContain('ekslink_connections_closed_total{route="alpha",reason="ok"} 0');
    expect((await fetch(`http://${HOST}:${port}/nope`)).status).toBe(404);
    expect((await fetch(`http://${HOST}:${port}/healthz`, { method: 'POST' })).status).toBe(405);
  });

  it('accepts the NLB health check: a LOCAL PROXY v2 header, then the request, in one write', async () => {
    const res = await raw([Buffer.concat([LOCAL, get('/healthz')])]);
    expect(res).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(res.endsWith('\r\n\r\nok\n')).toBe(true);
  });

  it('accepts the header split across writes and the request in a later one', async () => {
    readiness = { ready: false, reason: 'probe failing' };
    const res = await raw([LOCAL.subarray(0, 5), LOCAL.subarray(5, 14), LOCAL.subarray(14), get('/readyz')]);
    expect(res).toMatch(/^HTTP\/1\.1 503 Service Unavailable\r\n/);
    expect(res).toContain('"reason":"probe failing"');
  });

  it('accepts a PROXY command header with addresses and TLVs', async () => {
    const header = encodeProxyHeader({
      command: 'proxy',
      family: 'tcp4',
      sourceAddress: '10.1.2.3',
      sourcePort: 40000,
      destinationAddress: '10.0.0.9',
      destinationPort: 8080,
      vpcEndpointId: 'vpce-0123456789abcdef0',
      extraTlvs: [{ type: 0x30, value: Buffer.from('x') }],
    });
    const res = await raw([header, get('/healthz', 'HEAD')]);
    expect(res).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(res).not.toContain('ok\n');
  });

  it('closes the connection on a malformed header, and on a header that never completes', async () => {
    const bad = Buffer.from(LOCAL);
    bad[12] = 0x10; // version 1
    expect(await raw([Buffer.concat([bad, get('/healthz')])])).toBe('');
    const started = Date.now();
    expect(await raw([LOCAL.subarray(0, 10)])).toBe('');
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  /** Replace the default server with one built with these limits (afterEach closes it). */
  async function restart(limits: { requestTimeoutMs?: number; maxConnections?: number }): Promise<void> {
    await server.close();
    server = new HealthServer({
      host: HOST,
      port: 0,
      logger: createLogger({ level: 'silent' }),
      ...limits,
      source: { readiness: () => readiness, metrics: () => metrics.registry.metrics() },
    });
    port = (await server.listen()).port;
  }

  async function open(): Promise<{ socket: Socket; closed: Promise<number> }> {
    const socket = connect({ host: HOST, port });
    socket.on('error', () => {});
    const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now())));
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    return { socket, closed };
  }

  it('closes a request trickled a byte at a time once requestTimeoutMs has passed (slowloris)', async () => {
    await restart({ requestTimeoutMs: 300 });
    const { socket, closed } = await open();
    const started = Date.now();
    socket.write('GET /healthz HTTP/1.1\r\n');
    // Each byte restarts the socket's idle timer; only a deadline per request ends this.
    let closedAt = 0;
    void closed.then((t) => (closedAt = t));
    for (let i = 0; i < 40 && closedAt === 0; i++) {
      socket.write('X');
      await sleep(50);
    }
    expect(closedAt).toBeGreaterThan(0);
    expect(closedAt - started).toBeLessThan(1500);
  });

  it('serves keep-alive requests one after another, each within requestTimeoutMs', async () => {
    await restart({ requestTimeoutMs: 300 });
    const { socket, closed } = await open();
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    // Three requests 200 ms apart: 600 ms in all, each one inside its own deadline.
    for (let i = 0; i < 3; i++) {
      socket.write('GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n');
      await sleep(200);
    }
    expect(
      Buffer.concat(chunks)
        .toString('latin1')
        .match(/HTTP\/1\.1 200/g),
    ).toHaveLength(3);
    socket.destroy();
    await closed;
  });

  it('closes connections beyond maxConnections at once and serves again when they go', async () => {
    await restart({ maxConnections: 4 });
    const held = await Promise.all(Array.from({ length: 4 }, () => open()));
    const extra = await open();
    const startedAt = Date.now();
    expect((await extra.closed) - startedAt).toBeLessThan(500);
    for (const h of held) h.socket.destroy();
    await Promise.all(held.map((h) => h.closed));
    expect(await raw([get('/healthz')])).toContain('200 OK');
  });
});
