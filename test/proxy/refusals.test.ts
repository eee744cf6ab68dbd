import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPki, type TestPki } from '../../standins/pki.js';
import { TestDnsServer } from '../../standins/dns-server.js';
import {
  captureClientHello,
  EchoUpstreams,
  rawExchange,
  startProxy,
  waitUntil,
  whoServes,
  type TestProxy,
} from './helpers.js';

// This file's loopback block: 127.0.106.0/24.
const EKS = 'abcdef0123456789abcdef0123456789.gr7.us-east-1.eks.amazonaws.com';
const ENI = '127.0.106.11';
let pki: TestPki;
let dns: TestDnsServer;
let upstreams: EchoUpstreams;
let proxy: TestProxy;
let hello: Buffer;

beforeAll(async () => {
  pki = await createPki({ dnsNames: [EKS] });
  dns = await TestDnsServer.start({ host: '127.0.106.53' });
  dns.set(EKS, { a: [ENI] });
  upstreams = await EchoUpstreams.start([ENI], pki.serverCertPem, pki.serverKeyPem);
  proxy = await startProxy('127.0.106.1', {
    routes: [{ sni: EKS, upstreamPort: upstreams.port, name: 'prod' }],
    allowedUpstreamCidrs: ['127.0.106.0/24'],
    dns: { servers: [dns.server], timeoutMs: 500, tries: 1, shareWindowMs: 0 },
    clientHello: { timeoutMs: 400, maxBytes: 16_384 },
  });
  hello = await captureClientHello('127.0.106.2', { servername: EKS });
});

afterAll(async () => {
  await proxy.close();
  await upstreams.close();
  await dns.close();
});

/** TLS handshake through the proxy that must fail; returns the client's error code. */
function failingHandshake(options: tls.ConnectionOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: proxy.host, port: proxy.port, ca: pki.caCertPem, ...options });
    s.on('secureConnect', () => reject(new Error('handshake succeeded')));
    s.on('error', (err: NodeJS.ErrnoException) => resolve(`${err.code}: ${err.message}`));
  });
}

function lineFor(reason: string) {
  return proxy.sink.waitFor((l) => l.event === 'connection' && l.reason === reason);
}

describe('refusals', () => {
  it('serves an allowed SNI and logs one line with everything an operator needs', async () => {
    expect(await whoServes(proxy.host, proxy.port, EKS, pki.caCertPem)).toBe(ENI);
    const line = await lineFor('ok');
    expect(line).toMatchObject({
      level: 'info',
      msg: 'connection closed',
      event: 'connection',
      id: expect.stringMatching(/^[0-9a-f]{6}-[0-9a-z]+$/),
      clientAddress: expect.stringMatching(/^127\./),
      clientPort: expect.any(Number),
      sni: EKS,
      route: 'prod',
      upstreamAddress: `${ENI}:${upstreams.port}`,
      bytesFromClient: expect.any(Number),
      bytesFromUpstream: expect.any(Number),
      durationMs: expect.any(Number),
      reason: 'ok',
    });
    expect(line.bytesFromClient as number).toBeGreaterThan(200);
    expect(line.bytesFromUpstream as number).toBeGreaterThan(200);
  });

  it('refuses an SNI that is not a route with a TLS unrecognized_name alert', async () => {
    const before = upstreams.accepted.get(ENI) ?? 0;
    const err = await failingHandshake({ servername: 'other.example.com' });
    expect(err).toMatch(/unrecognized name|alert number 112/i);
    const line = await lineFor('sni_not_allowed');
    expect(line).toMatchObject({
      level: 'warn',
      sni: 'other.example.com',
      error: { code: 'EKL_SNI_NOT_ALLOWED', source: 'downstream' },
    });
    expect(line.upstreamAddress).toBeUndefined();
    expect(upstreams.accepted.get(ENI) ?? 0).toBe(before);
  });

  it('refuses a ClientHello without SNI (no defaultRoute) with the same alert', async () => {
    // node sends no SNI when servername is empty
    const err = await failingHandshake({ servername: '' });
    expect(err).toMatch(/unrecognized name|alert number 112/i);
    const line = await lineFor('sni_missing');
    expect(line).toMatchObject({ error: { code: 'EKL_SNI_MISSING' } });
    expect(line.sni).toBeUndefined();
  });

  it('sends the exact alert record: fatal unrecognized_name', async () => {
    const noSniHello = await captureClientHello('127.0.106.2', { servername: '' });
    const r = await rawExchange(proxy.host, proxy.port, [noSniHello]);
    expect(r.received.toString('hex')).toBe('15030300020270');
  });

  it('closes on bytes that are not TLS, sending nothing back', async () => {
    const r = await rawExchange(proxy.host, proxy.port, [
      Buffer.from('GET /version HTTP/1.1\r\nHost: x\r\n\r\n'),
    ]);
    expect(r.received.length).toBe(0);
    const line = await lineFor('client_hello_invalid');
    expect(line.error).toMatchObject({
      code: 'EKL_CLIENT_HELLO_INVALID',
      message: expect.stringContaining('plaintext HTTP'),
    });
  });

  it('closes on a ClientHello declaring more than clientHello.maxBytes, without waiting for it', async () => {
    const r = await rawExchange(proxy.host, proxy.port, [Buffer.from([22, 3, 1, 0x40, 0, 1, 0, 0x4f, 0xfc])]);
    expect(r.received.length).toBe(0);
    expect(r.closedMs).toBeLessThan(300);
    await lineFor('client_hello_too_large');
  });

  it('logs a truncated ClientHello (client gave up) as client_closed_early', async () => {
    await rawExchange(proxy.host, proxy.port, [hello.subarray(0, 100)], { endAfter: true });
    const line = await lineFor('client_closed_early');
    expect(line).toMatchObject({ bytesFromClient: 100, error: { code: 'EKL_CLIENT_CLOSED_EARLY' } });
  });

  it('names the phase when a client closes its side while the upstream is being connected', async () => {
    dns.delay(300);
    try {
      await rawExchange(proxy.host, proxy.port, [hello], { endAfter: true });
      const line = await proxy.sink.waitFor(
        (l) => l.event === 'connection' && l.reason === 'client_closed_early' && l.sni === EKS,
      );
      expect(line.error).toMatchObject({
        code: 'EKL_CLIENT_CLOSED_EARLY',
        message: `client closed its side after ${hello.length} bytes, while the upstream was being connected`,
      });
    } finally {
      dns.delay(0);
    }
  });

  it('closes a client that dribbles its ClientHello slower than clientHello.timeoutMs', async () => {
    const pieces = [...hello.subarray(0, 40)].map((b) => Buffer.from([b]));
    const r = await rawExchange(proxy.host, proxy.port, pieces, { gapMs: 50 });
    expect(r.closedMs).toBeGreaterThanOrEqual(380);
    expect(r.closedMs).toBeLessThan(1500);
    const line = await lineFor('client_hello_timeout');
    expect(line.error).toMatchObject({
      code: 'EKL_CLIENT_HELLO_TIMEOUT',
      message: 'no complete ClientHello within 400 ms',
    });
  });

  it('keeps serving everyone else while hostile clients misbehave', async () => {
    const hostile = [
      rawExchange(proxy.host, proxy.port, [Buffer.alloc(3000, 0xff)]),
      rawExchange(proxy.host, proxy.port, [hello.subarray(0, 10)], { gapMs: 600 }),
      rawExchange(proxy.host, proxy.port, [Buffer.from([22, 3, 1, 0, 5, 1, 0, 0, 1, 0])]),
      rawExchange(proxy.host, proxy.port, [hello.subarray(0, 300)], { endAfter: true }),
      failingHandshake({ servername: 'evil.example.com' }),
    ];
    const good = await Promise.all(
      Array.from({ length: 20 }, () => whoServes(proxy.host, proxy.port, EKS, pki.caCertPem)),
    );
    expect(good).toEqual(Array(20).fill(ENI));
    await Promise.all(hostile);
    expect(await whoServes(proxy.host, proxy.port, EKS, pki.caCertPem)).toBe(ENI);
  });

  it('writes exactly one line per connection', async () => {
    await waitUntil(() => proxy.server.activeConnections === 0);
    const before = proxy.sink.connections.length;
    const n = 10;
    await Promise.all([
      ...Array.from({ length: n / 2 }, () => whoServes(proxy.host, proxy.port, EKS, pki.caCertPem)),
      ...Array.from({ length: n / 2 }, () => rawExchange(proxy.host, proxy.port, [Buffer.from('junk!')])),
    ]);
    await proxy.sink.waitForConnections(before + n);
    await new Promise((r) => setTimeout(r, 100));
    const lines = proxy.sink.connections.slice(before);
    expect(lines).toHaveLength(n);
    expect(new Set(lines.map((l) => l.id)).size).toBe(n);
    expect(proxy.server.activeConnections).toBe(0);
  });
});
