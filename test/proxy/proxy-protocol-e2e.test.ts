/**
 * PROXY v2 on the data port and the health port of the real CLI bundle, as an NLB with
 * proxy_protocol_v2.enabled would speak it.
 */
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProxyConfigInput } from '../../proxy/config/schema.js';
import type { ProxyHeader } from '../../proxy/wire/proxy-protocol.js';
import { encodeProxyHeader } from './proxy-header-encoder.js';
import { TestDnsServer } from '../../standins/dns-server.js';
import { createPki, type TestPki } from '../../standins/pki.js';
import { type Event, ProxyProcess, startStreamUpstream, tryHandshake } from './lifecycle-harness.js';

// This file's loopback block: 127.0.214.0/24.
const SNI = 'pp.gr7.us-east-1.eks.amazonaws.com';
const VPCE = 'vpce-0aaaaaaaaaaaaaaaa';
const OTHER_VPCE = 'vpce-0bbbbbbbbbbbbbbbb';
let dns: TestDnsServer;
let pki: TestPki;
let upstream: Awaited<ReturnType<typeof startStreamUpstream>>;
let strict: ProxyProcess; // mode required + endpoint allowlist
let open: ProxyProcess; // mode required, any endpoint
let off: ProxyProcess; // mode off

function config(proxyProtocol: ProxyConfigInput['proxyProtocol']): ProxyConfigInput {
  return {
    listen: { host: '127.0.0.1', port: 0 },
    routes: [{ sni: SNI, upstreamPort: upstream.port, name: 'pp' }],
    allowedUpstreamCidrs: ['127.0.214.0/24'],
    dns: { servers: [dns.server], timeoutMs: 500, tries: 1 },
    health: { host: '127.0.0.1', port: 0, probeIntervalMs: 100 },
    drain: { graceSec: 0, deadlineSec: 1 },
    workers: 1,
    proxyProtocol,
  };
}

const tcp4 = (extra: Partial<ProxyHeader> = {}): ProxyHeader => ({
  command: 'proxy',
  family: 'tcp4',
  sourceAddress: '10.20.30.40',
  sourcePort: 51000,
  destinationAddress: '10.0.0.5',
  destinationPort: 443,
  ...extra,
});

beforeAll(async () => {
  dns = await TestDnsServer.start();
  pki = await createPki({ dnsNames: [SNI] });
  upstream = await startStreamUpstream('127.0.214.1', pki, 5);
  dns.set(SNI, { a: ['127.0.214.1'] });
  [strict, open, off] = await Promise.all([
    ProxyProcess.start(config({ mode: 'required', allowedVpcEndpointIds: [VPCE], timeoutMs: 300 })),
    ProxyProcess.start(config({ mode: 'required', timeoutMs: 300 })),
    ProxyProcess.start(config({ mode: 'off' })),
  ]);
});

afterAll(async () => {
  await Promise.all([strict.kill(), open.kill(), off.kill()]);
  await Promise.all([dns.close(), upstream.close()]);
});

/** The log line of the next connection this proxy closes. */
async function nextLine(p: ProxyProcess, before: number): Promise<Event> {
  while (p.connections().length <= before) await sleep(10);
  return p.connections()[before] as Event;
}

async function via(p: ProxyProcess, prefix?: Buffer): Promise<{ result: string; line: Event }> {
  const before = p.connections().length;
  const result = await tryHandshake(p.port, SNI, pki.caCertPem, prefix);
  return { result, line: await nextLine(p, before) };
}

/** Raw bytes only (no TLS), written in pieces; resolves when the proxy closes. */
async function rawThenWait(p: ProxyProcess, pieces: Buffer[], endAfter = false): Promise<Event> {
  const before = p.connections().length;
  const s = net.connect({ host: '127.0.0.1', port: p.port });
  s.on('error', () => {});
  await new Promise((r) => s.once('connect', r));
  for (const piece of pieces) s.write(piece);
  if (endAfter) s.end();
  await new Promise((r) => s.once('close', r));
  return nextLine(p, before);
}

describe('PROXY v2 on the data port (mode required, endpoint allowlist)', () => {
  it('serves an IPv4 header with the allowed endpoint; the log line has the original source and endpoint', async () => {
    const { result, line } = await via(strict, encodeProxyHeader(tcp4({ vpcEndpointId: VPCE })));
    expect(result).toBe('ok');
    expect(line).toMatchObject({
      reason: 'ok',
      clientAddress: '10.20.30.40',
      clientPort: 51000,
      vpcEndpointId: VPCE,
      sni: SNI,
    });
  });

  it('serves an IPv6 header with unknown TLVs around the endpoint TLV', async () => {
    const header = encodeProxyHeader({
      command: 'proxy',
      family: 'tcp6',
      sourceAddress: 'fd12:3456::7',
      sourcePort: 40001,
      destinationAddress: 'fd12:3456::1',
      destinationPort: 443,
      vpcEndpointId: VPCE,
      extraTlvs: [
        { type: 0x01, value: Buffer.from('h2') },
        { type: 0xea, value: Buffer.from([0x02, 1, 2, 3]) },
        { type: 0xe0, value: Buffer.alloc(50, 7) },
      ],
    });
    const { result, line } = await via(strict, header);
    expect(result).toBe('ok');
    expect(line).toMatchObject({ clientAddress: 'fd12:3456::7', vpcEndpointId: VPCE });
  });

  it('serves a header that arrives a few bytes at a time', async () => {
    const header = encodeProxyHeader(tcp4({ vpcEndpointId: VPCE }));
    const before = strict.connections().length;
    const raw = net.connect({ host: '127.0.0.1', port: strict.port });
    await new Promise((r) => raw.once('connect', r));
    for (let i = 0; i < header.length; i += 7) {
      raw.write(header.subarray(i, i + 7));
      await sleep(5);
    }
    const tls = await import('node:tls');
    const socket = tls.connect({ socket: raw, servername: SNI, ca: pki.caCertPem });
    await new Promise((r, j) => socket.once('secureConnect', r).once('error', j));
    socket.end('1\n');
    await new Promise((r) => socket.once('close', r));
    expect(await nextLine(strict, before)).toMatchObject({ reason: 'ok', vpcEndpointId: VPCE });
  });

  it('refuses a header without the endpoint TLV, another endpoint, and LOCAL (no endpoint)', async () => {
    for (const header of [
      encodeProxyHeader(tcp4()),
      encodeProxyHeader(tcp4({ vpcEndpointId: OTHER_VPCE })),
      encodeProxyHeader({ command: 'local', family: 'unspec' }),
    ]) {
      const { result, line } = await via(strict, header);
      expect(result).not.toBe('ok');
      expect(line).toMatchObject({ reason: 'vpce_not_allowed' });
    }
  });

  it('a LOCAL header cannot meet the allowlist, even carrying the allowed endpoint TLV', async () => {
    const local = encodeProxyHeader({ ...tcp4({ vpcEndpointId: VPCE }), command: 'local' });
    const { result, line } = await via(strict, local);
    expect(result).not.toBe('ok');
    expect(line).toMatchObject({
      reason: 'vpce_not_allowed',
      error: { code: 'EKL_VPCE_NOT_ALLOWED', message: expect.stringMatching(/LOCAL PROXY v2 header/) },
    });
    expect(line.vpcEndpointId).toBeUndefined();
    expect(line.clientAddress).not.toBe('10.20.30.40');
  });

  it('closes on a wrong signature, a bad version, an oversized or truncated header', async () => {
    // A TLS ClientHello without any header: wrong signature.
    expect((await via(strict)).line).toMatchObject({ reason: 'proxy_header_invalid' });
    const bad = Buffer.from(encodeProxyHeader(tcp4({ vpcEndpointId: VPCE })));
    bad[12] = 0x11;
    expect(await rawThenWait(strict, [bad])).toMatchObject({ reason: 'proxy_header_invalid' });
    const oversized = Buffer.from(encodeProxyHeader(tcp4()).subarray(0, 16));
    oversized.writeUInt16BE(0xffff, 14);
    expect(await rawThenWait(strict, [oversized])).toMatchObject({ reason: 'proxy_header_invalid' });
    const truncated = encodeProxyHeader(tcp4({ vpcEndpointId: VPCE })).subarray(0, 20);
    expect(await rawThenWait(strict, [truncated])).toMatchObject({ reason: 'proxy_header_timeout' });
    expect(await rawThenWait(strict, [truncated], true)).toMatchObject({ reason: 'client_closed_early' });
  });

  it('never trusts a second, client-sent header after the NLB one', async () => {
    const nlb = encodeProxyHeader(tcp4({ vpcEndpointId: VPCE }));
    const spoof = encodeProxyHeader(tcp4({ sourceAddress: '6.6.6.6', vpcEndpointId: OTHER_VPCE }));
    const { result, line } = await via(strict, Buffer.concat([nlb, spoof]));
    expect(result).not.toBe('ok');
    expect(line).toMatchObject({
      reason: 'client_hello_invalid',
      clientAddress: '10.20.30.40',
      vpcEndpointId: VPCE,
    });
  });

  it('counts PROXY header rejections by reason', async () => {
    const text = (await strict.health('/metrics')).body;
    expect(text).toMatch(/ekslink_proxy_header_rejections_total\{reason="vpce_not_allowed"\} 4\n/);
    expect(text).toMatch(/ekslink_proxy_header_rejections_total\{reason="proxy_header_timeout"\} 1\n/);
  });
});

describe('PROXY v2 without an allowlist, and mode off', () => {
  it('required, no allowlist: LOCAL and headers without the TLV are served', async () => {
    expect((await via(open, encodeProxyHeader({ command: 'local', family: 'unspec' }))).result).toBe('ok');
    const { result, line } = await via(open, encodeProxyHeader(tcp4()));
    expect(result).toBe('ok');
    expect(line).toMatchObject({ clientAddress: '10.20.30.40' });
    expect(line.vpcEndpointId).toBeUndefined();
  });

  it('off: a PROXY header is just bad bytes', async () => {
    const { result, line } = await via(off, encodeProxyHeader(tcp4({ vpcEndpointId: VPCE })));
    expect(result).not.toBe('ok');
    expect(line).toMatchObject({ reason: 'client_hello_invalid' });
    expect((await via(off)).result).toBe('ok');
  });
});

describe('NLB health checks with PROXY v2 on', () => {
  it('the health port answers after a LOCAL header (its address block and TLVs ignored)', async () => {
    for (const p of [strict, open, off]) {
      await p.waitReady();
      const s = net.connect({ host: '127.0.0.1', port: p.healthPort });
      const chunks: Buffer[] = [];
      s.on('data', (c: Buffer) => chunks.push(c));
      await new Promise((r) => s.once('connect', r));
      s.write(
        Buffer.concat([
          encodeProxyHeader({ ...tcp4({ vpcEndpointId: VPCE }), command: 'local' }),
          Buffer.from('GET /readyz HTTP/1.1\r\nHost: 10.0.0.5:8080\r\nConnection: close\r\n\r\n'),
        ]),
      );
      await new Promise((r) => s.once('close', r));
      expect(Buffer.concat(chunks).toString()).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    }
  });
});
