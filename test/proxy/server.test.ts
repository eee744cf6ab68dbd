import { once } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseProxyConfig, type ProxyConfigInput } from '../../proxy/config/schema.js';
import { encodeProxyHeader } from './proxy-header-encoder.js';
import { ProxyServer } from '../../proxy/connection/server.js';
import { createPki, type TestPki } from '../../standins/pki.js';
import { TestDnsServer } from '../../standins/dns-server.js';
import {
  captureClientHello,
  closeServer,
  EchoUpstreams,
  rawExchange,
  sinkLogger,
  startProxy,
  waitUntil,
  whoServes,
  type TestProxy,
} from './helpers.js';

// This file's loopback block: 127.0.111.0/24.
const EKS = '1234567890abcdef1234567890abcdef.gr7.us-east-1.eks.amazonaws.com';
const OTHER = 'abcdefabcdefabcdefabcdefabcdefab.gr7.us-east-1.eks.amazonaws.com';
const RESET = 'reset.internal.example';
const ENI = '127.0.111.11';
const RESET_ENI = '127.0.111.12';
const DEAD_ENI = '127.0.111.13';
const VPCE = 'vpce-0123456789abcdef0';
let pki: TestPki;
let dns: TestDnsServer;
let upstreams: EchoUpstreams;
let resetter: net.Server;
let resetPort: number;
let hello: Buffer;
let resetHello: Buffer;

beforeAll(async () => {
  pki = await createPki({ dnsNames: [EKS, OTHER] });
  dns = await TestDnsServer.start({ host: '127.0.111.53' });
  dns.set(EKS, { a: [ENI] });
  dns.set(OTHER, { a: [ENI] });
  dns.set(RESET, { a: [RESET_ENI] });
  upstreams = await EchoUpstreams.start([ENI], pki.serverCertPem, pki.serverKeyPem);
  // An upstream that resets the connection as soon as bytes arrive.
  resetter = net.createServer((s) => {
    s.on('error', () => {});
    s.once('data', () => s.resetAndDestroy());
  });
  resetter.listen({ host: RESET_ENI, port: 0 });
  await once(resetter, 'listening');
  resetPort = (resetter.address() as net.AddressInfo).port;
  hello = await captureClientHello('127.0.111.2', { servername: EKS });
  resetHello = await captureClientHello('127.0.111.2', { servername: RESET });
});

afterAll(async () => {
  await upstreams.close();
  await closeServer(resetter);
  await dns.close();
});

function baseConfig(extra: Partial<ProxyConfigInput> = {}): Omit<ProxyConfigInput, 'listen'> {
  return {
    routes: [
      { sni: EKS, upstreamPort: upstreams.port, name: 'main' },
      { sni: RESET, upstreamPort: resetPort, name: 'reset' },
    ],
    allowedUpstreamCidrs: ['127.0.111.0/24'],
    dns: { servers: [dns.server], timeoutMs: 500, tries: 1, shareWindowMs: 0 },
    clientHello: { timeoutMs: 2000 },
    ...extra,
  };
}

/** A TLS tunnel through the proxy, left open after the upstream's first line. */
async function openTunnel(proxy: TestProxy, sni = EKS): Promise<tls.TLSSocket> {
  const s = tls.connect({ host: proxy.host, port: proxy.port, servername: sni, ca: pki.caCertPem });
  s.on('error', () => {});
  await once(s, 'data');
  return s;
}

async function echo(s: tls.TLSSocket, text: string): Promise<string> {
  s.write(text);
  const [d] = (await once(s, 'data')) as [Buffer];
  return d.toString();
}

describe('ProxyServer', () => {
  let proxy: TestProxy;
  beforeAll(async () => {
    proxy = await startProxy('127.0.111.1', baseConfig({ connections: { max: 3 } }));
  });
  afterAll(() => proxy.close());

  it('closes connections beyond connections.max at once, and accepts again when one ends', async () => {
    const held = await Promise.all([openTunnel(proxy), openTunnel(proxy), openTunnel(proxy)]);
    expect(proxy.server.activeConnections).toBe(3);
    const r = await rawExchange(proxy.host, proxy.port, [hello]);
    expect(r.received.length).toBe(0);
    const line = await proxy.sink.waitFor((l) => l.reason === 'connection_limit');
    expect(line).toMatchObject({ level: 'warn', error: { code: 'EKL_CONNECTION_LIMIT' } });
    held[0]!.end();
    await waitUntil(() => proxy.server.activeConnections === 2);
    expect(await whoServes(proxy.host, proxy.port, EKS, pki.caCertPem)).toBe(ENI);
    for (const s of held) s.destroy();
    await waitUntil(() => proxy.server.activeConnections === 0);
  });

  it('applies a reload to new connections only; open tunnels carry on', async () => {
    const tunnel = await openTunnel(proxy);
    proxy.server.reload(
      parseProxyConfig({
        ...baseConfig(),
        routes: [{ sni: OTHER, upstreamPort: upstreams.port, name: 'other' }],
        defaultRoute: 'other',
        listen: { host: proxy.host, port: 0 },
      }),
    );
    expect(await echo(tunnel, 'still here')).toBe('still here');
    // The old SNI is refused now; the new one and clients without SNI (defaultRoute) are served.
    await expect(whoServes(proxy.host, proxy.port, EKS, pki.caCertPem)).rejects.toThrow(
      /unrecognized name|112/i,
    );
    expect(await whoServes(proxy.host, proxy.port, OTHER, pki.caCertPem)).toBe(ENI);
    const noSni = await new Promise<string>((resolve, reject) => {
      const s = tls.connect({
        host: proxy.host,
        port: proxy.port,
        servername: '',
        ca: pki.caCertPem,
        checkServerIdentity: () => undefined,
      });
      s.setEncoding('utf8');
      s.once('data', (d: string) => {
        s.destroy();
        resolve(d.trim());
      });
      s.once('error', reject);
    });
    expect(noSni).toBe(ENI);
    const line = await proxy.sink.waitFor(
      (l) => l.reason === 'ok' && l.route === 'other' && l.sni === undefined,
    );
    expect(line.upstreamAddress).toBe(`${ENI}:${upstreams.port}`);
    tunnel.destroy();
    proxy.server.reload(
      parseProxyConfig({ ...baseConfig({ connections: { max: 3 } }), listen: { host: proxy.host, port: 0 } }),
    );
  });

  it('survives resets from either side at every stage, logging each with its reason', async () => {
    // Client resets mid-stream.
    const t = await openTunnel(proxy);
    const raw = net.connect({ host: proxy.host, port: proxy.port });
    raw.on('error', () => {});
    await once(raw, 'connect');
    raw.write(hello);
    await new Promise((r) => setTimeout(r, 100));
    raw.resetAndDestroy();
    await proxy.sink.waitFor(
      (l) => l.reason === 'client_error' || (l.reason === 'ok' && l.bytesFromUpstream !== 0),
    );
    t.destroy();

    // Upstream resets mid-stream.
    const r = await rawExchange(proxy.host, proxy.port, [resetHello]);
    expect(r.received.length).toBe(0);
    await proxy.sink.waitFor((l) => l.reason === 'upstream_error' && l.route === 'reset');

    // Client resets right after its hello, while DNS and dial are under way.
    await waitUntil(() => proxy.server.activeConnections === 0);
    const before = proxy.sink.connections.length;
    for (let i = 0; i < 20; i++) {
      const s = net.connect({ host: proxy.host, port: proxy.port });
      s.on('error', () => {});
      s.on('connect', () => {
        s.write(hello);
        setImmediate(() => s.resetAndDestroy());
      });
    }
    // Client resets before sending anything.
    for (let i = 0; i < 20; i++) {
      const s = net.connect({ host: proxy.host, port: proxy.port });
      s.on('error', () => {});
      s.on('connect', () => s.resetAndDestroy());
    }
    const lines = (await proxy.sink.waitForConnections(before + 40)).slice(before);
    const reasons = lines.map((l) => l.reason);
    expect(reasons.filter((r) => r === 'client_closed_early').length).toBeGreaterThanOrEqual(20);
    expect(reasons.every((r) => r === 'client_closed_early' || r === 'client_error')).toBe(true);
    await waitUntil(() => proxy.server.activeConnections === 0);
    expect(await whoServes(proxy.host, proxy.port, EKS, pki.caCertPem)).toBe(ENI);
  });

  it('holds nothing of a closed connection for keepalive arming (a short request is let go at once)', async () => {
    await waitUntil(() => proxy.server.activeConnections === 0);
    expect(await whoServes(proxy.host, proxy.port, EKS, pki.caCertPem)).toBe(ENI);
    await waitUntil(() => proxy.server.activeConnections === 0);
    // Well inside the arming delay (1 s): without the splice's cancel it would still hold the pair.
    expect(proxy.server.keepAliveArming.holding).toBe(0);
  });

  it('logs upstream_connect_failed with every address it tried', async () => {
    dns.set(EKS, { a: [DEAD_ENI] });
    try {
      await expect(whoServes(proxy.host, proxy.port, EKS, pki.caCertPem)).rejects.toThrow();
      const line = await proxy.sink.waitFor((l) => l.reason === 'upstream_connect_failed');
      expect(line.error).toMatchObject({
        code: 'EKL_UPSTREAM_CONNECT_FAILED',
        message: `could not connect to any upstream address; tried ${DEAD_ENI}:${upstreams.port} (ECONNREFUSED)`,
      });
    } finally {
      dns.set(EKS, { a: [ENI] });
    }
  });

  it('reports EKL_LISTEN_FAILED when the port is taken', async () => {
    const config = parseProxyConfig({ ...baseConfig(), listen: { host: proxy.host, port: proxy.port } });
    const other = new ProxyServer({ config, logger: sinkLogger().logger });
    await expect(other.listen()).rejects.toMatchObject({
      code: 'EKL_LISTEN_FAILED',
      message: `cannot listen on ${proxy.host}:${proxy.port}: EADDRINUSE`,
    });
    other.destroy();
  });
});

describe('idle timeout, stopAccepting, drain', () => {
  it('closes a tunnel idle for connections.idleTimeoutMs', async () => {
    const proxy = await startProxy('127.0.111.3', baseConfig({ connections: { idleTimeoutMs: 300 } }));
    try {
      const t = await openTunnel(proxy);
      expect(await echo(t, 'a')).toBe('a');
      const started = Date.now();
      await once(t, 'close');
      expect(Date.now() - started).toBeGreaterThanOrEqual(250);
      await proxy.sink.waitFor((l) => l.reason === 'idle_timeout');
    } finally {
      await proxy.close();
    }
  });

  it('stops accepting while open tunnels carry on; drain destroys what is left at the deadline', async () => {
    const proxy = await startProxy('127.0.111.4', baseConfig());
    const t = await openTunnel(proxy);
    await proxy.server.stopAccepting();
    const refused = await new Promise<string>((resolve) => {
      const s = net.connect({ host: proxy.host, port: proxy.port });
      s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? ''));
      s.on('connect', () => resolve('connected'));
    });
    expect(refused).toBe('ECONNREFUSED');
    expect(await echo(t, 'x')).toBe('x');
    const started = Date.now();
    await proxy.server.drain(300);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(proxy.server.activeConnections).toBe(0);
    await proxy.sink.waitFor((l) => l.reason === 'shutdown');
    await proxy.close();
  });

  it('drain resolves as soon as the last connection ends', async () => {
    const proxy = await startProxy('127.0.111.5', baseConfig());
    const t = await openTunnel(proxy);
    setTimeout(() => t.end(), 100);
    const started = Date.now();
    await proxy.server.drain(10_000);
    expect(Date.now() - started).toBeLessThan(2000);
    expect((await proxy.sink.waitFor((l) => l.event === 'connection')).reason).toBe('ok');
    await proxy.close();
  });
});

describe('IPv6 upstreams', () => {
  it('dials an AAAA answer when dns.ipv6 is on (and the block names it)', async () => {
    const V6 = 'v6only.internal.example';
    const pkiV6 = await createPki({ dnsNames: [V6] });
    const v6 = await EchoUpstreams.start(['::1'], pkiV6.serverCertPem, pkiV6.serverKeyPem);
    dns.set(V6, { aaaa: ['::1'] });
    const proxy = await startProxy('127.0.111.7', {
      routes: [{ sni: V6, upstreamPort: v6.port }],
      allowedUpstreamCidrs: ['::1/128'],
      dns: { servers: [dns.server], timeoutMs: 500, tries: 1, shareWindowMs: 0, ipv6: true },
    });
    try {
      expect(await whoServes(proxy.host, proxy.port, V6, pkiV6.caCertPem)).toBe('::1');
      const line = await proxy.sink.waitFor((l) => l.reason === 'ok');
      expect(line.upstreamAddress).toBe(`[::1]:${v6.port}`);
    } finally {
      await proxy.close();
      await v6.close();
    }
  });
});

describe('PROXY protocol v2 in the pipeline', () => {
  it('takes the client address and endpoint from the header and enforces the endpoint allowlist', async () => {
    const proxy = await startProxy(
      '127.0.111.6',
      baseConfig({ proxyProtocol: { mode: 'required', allowedVpcEndpointIds: [VPCE], timeoutMs: 500 } }),
    );
    try {
      const header = (vpcEndpointId?: string): Buffer =>
        encodeProxyHeader({
          command: 'proxy',
          family: 'tcp4',
          sourceAddress: '203.0.113.7',
          sourcePort: 40_000,
          destinationAddress: '10.0.0.5',
          destinationPort: 443,
          ...(vpcEndpointId ? { vpcEndpointId } : {}),
        });
      // Header and hello in one segment, then split at an awkward place.
      const both = Buffer.concat([header(VPCE), hello]);
      for (const pieces of [[both], [both.subarray(0, 7), both.subarray(7, 60), both.subarray(60)]]) {
        const s = net.connect({ host: proxy.host, port: proxy.port });
        s.on('error', () => {});
        await once(s, 'connect');
        for (const p of pieces) s.write(p);
        await once(s, 'data'); // the upstream's TLS ServerHello came back through
        s.destroy();
      }
      const ok = await proxy.sink.waitFor((l) => l.event === 'connection' && l.sni === EKS);
      expect(ok).toMatchObject({ clientAddress: '203.0.113.7', clientPort: 40_000, vpcEndpointId: VPCE });
      expect(ok.bytesFromClient).toBe(hello.length);

      await rawExchange(proxy.host, proxy.port, [header('vpce-0fffffffffffffff0'), hello]);
      const refused = await proxy.sink.waitFor((l) => l.reason === 'vpce_not_allowed');
      expect(refused).toMatchObject({
        vpcEndpointId: 'vpce-0fffffffffffffff0',
        error: { code: 'EKL_VPCE_NOT_ALLOWED' },
      });

      await rawExchange(proxy.host, proxy.port, [hello]);
      await proxy.sink.waitFor((l) => l.reason === 'proxy_header_invalid');

      const slow = await rawExchange(proxy.host, proxy.port, [header(VPCE).subarray(0, 10)]);
      expect(slow.closedMs).toBeGreaterThanOrEqual(450);
      await proxy.sink.waitFor((l) => l.reason === 'proxy_header_timeout');
    } finally {
      await proxy.close();
    }
  });
});
