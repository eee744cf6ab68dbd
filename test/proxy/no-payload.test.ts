import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPki, type TestPki } from '../../standins/pki.js';
import { TestDnsServer } from '../../standins/dns-server.js';
import { encodeProxyHeader } from './proxy-header-encoder.js';
import { captureClientHello, EchoUpstreams, rawExchange } from './helpers.js';
import { ProxyProcess } from './lifecycle-harness.js';

// This file's loopback block: 127.0.123.0/24.
const EKS = 'cc00bb11cc22dd33ee44ff5566778899.gr7.us-east-1.eks.amazonaws.com';
const ENI = '127.0.123.11';
const VPCE = 'vpce-0123456789abcdef0';
const markers: string[] = [];
/** A fresh marker: a string no log line could contain by chance. */
const mark = (): string => {
  const m = `MARK${randomBytes(6).toString('hex').toUpperCase()}`;
  markers.push(m);
  return m;
};

let pki: TestPki;
let dns: TestDnsServer;
let upstreams: EchoUpstreams;
let off: ProxyProcess;
let required: ProxyProcess;

beforeAll(async () => {
  pki = await createPki({ dnsNames: [EKS, 'other.example.com'] });
  dns = await TestDnsServer.start({ host: '127.0.123.53' });
  dns.set(EKS, { a: [ENI] });
  upstreams = await EchoUpstreams.start([ENI], pki.serverCertPem, pki.serverKeyPem);
  const base = {
    listen: { host: '127.0.0.1', port: 0 },
    routes: [{ sni: EKS, upstreamPort: upstreams.port }],
    allowedUpstreamCidrs: ['127.0.123.0/24'],
    dns: { servers: [dns.server], timeoutMs: 500, tries: 1 },
    health: { host: '127.0.0.1', port: 0, probeIntervalMs: 200 },
    drain: { graceSec: 0, deadlineSec: 1 },
    clientHello: { timeoutMs: 500 },
    log: { level: 'debug' as const },
    workers: 1,
  };
  const dir = () => mkdtempSync(join(tmpdir(), 'ekslink-nopayload-'));
  off = await ProxyProcess.start(base, dir());
  required = await ProxyProcess.start(
    { ...base, proxyProtocol: { mode: 'required', allowedVpcEndpointIds: [VPCE], timeoutMs: 500 } },
    dir(),
  );
});

afterAll(async () => {
  await Promise.all([off?.kill(), required?.kill()]);
  await upstreams.close();
  await dns.close();
});

/** A TLS session through the proxy: ALPN offers `alpn`, the encrypted stream carries `data`. */
async function tlsSession(
  port: number,
  sni: string,
  alpn: string,
  data: string,
  prefix?: Buffer,
): Promise<string> {
  const raw = net.connect({ host: '127.0.0.1', port });
  raw.on('error', () => {});
  await once(raw, 'connect');
  if (prefix) raw.write(prefix);
  const s = tls.connect({ socket: raw, servername: sni, ca: pki.caCertPem, ALPNProtocols: [alpn, 'h2'] });
  s.on('error', () => {});
  let text = '';
  s.setEncoding('utf8');
  s.on('data', (d: string) => (text += d));
  s.once('secureConnect', () => s.end(`${data}\n`));
  await new Promise((resolve) => s.once('close', resolve));
  return text;
}

/** An independent minimal ClientHello with the SNI and one extra extension carrying `payload`. */
function helloWith(payload: Buffer, breakLength = false): Buffer {
  const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);
  const name = Buffer.from(EKS);
  const sniEntry = Buffer.concat([Buffer.from([0]), u16(name.length), name]);
  const sni = Buffer.concat([u16(0), u16(sniEntry.length + 2), u16(sniEntry.length), sniEntry]);
  const extra = Buffer.concat([u16(0xfafa), u16(payload.length + (breakLength ? 7 : 0)), payload]);
  const exts = Buffer.concat([sni, extra]);
  const body = Buffer.concat([
    Buffer.from([3, 3]),
    Buffer.concat([payload, Buffer.alloc(32)]).subarray(0, 32), // the marker in `random` too
    Buffer.from([0]),
    u16(2),
    Buffer.from([0x13, 0x01]),
    Buffer.from([1, 0]),
    u16(exts.length),
    exts,
  ]);
  const hs = Buffer.concat([Buffer.from([1, 0, body.length >> 8, body.length & 0xff]), body]);
  return Buffer.concat([Buffer.from([22, 3, 1]), u16(hs.length), hs]);
}

describe('no payload in any output', () => {
  it('logs, errors and metrics carry none of the markers sent in plaintext, in ClientHello fields or in TLS', async () => {
    const realHello = await captureClientHello('127.0.123.1', { servername: EKS });
    for (const p of [off, required]) await p.waitReady();

    // mode off
    await rawExchange('127.0.0.1', off.port, [Buffer.from(`${mark()}${mark()}`)]);
    await rawExchange('127.0.0.1', off.port, [
      Buffer.from(`GET /${mark()} HTTP/1.1\r\nHost: ${mark()}\r\n\r\n`),
    ]);
    await rawExchange('127.0.0.1', off.port, [Buffer.from(`PROXY TCP4 ${mark()}\r\n`)]);
    expect(await tlsSession(off.port, EKS, mark(), mark())).toContain(ENI);
    await tlsSession(off.port, 'other.example.com', mark(), mark());
    await rawExchange('127.0.0.1', off.port, [helloWith(Buffer.from(mark()))], { timeoutMs: 3000 });
    await rawExchange('127.0.0.1', off.port, [helloWith(Buffer.from(mark()), true)]);
    await rawExchange('127.0.0.1', off.port, [Buffer.concat([realHello, Buffer.from(mark())])], {
      timeoutMs: 3000,
    });
    await rawExchange('127.0.0.1', off.port, [realHello.subarray(0, 20), Buffer.from(mark())], { gapMs: 10 });

    // mode required, with an endpoint allowlist
    const nlb = (
      extra: { type: number; value: Buffer }[],
      vpcEndpointId?: string,
      command: 'proxy' | 'local' = 'proxy',
    ) =>
      encodeProxyHeader({
        command,
        family: 'tcp4',
        sourceAddress: '10.1.2.3',
        sourcePort: 40000,
        destinationAddress: '10.0.0.5',
        destinationPort: 443,
        ...(vpcEndpointId === undefined ? {} : { vpcEndpointId }),
        extraTlvs: extra,
      });
    await rawExchange('127.0.0.1', required.port, [Buffer.from(`${mark()}`)]);
    await rawExchange('127.0.0.1', required.port, [Buffer.from(`\r\n\r\n\0\r\n${mark()}`)]);
    expect(
      await tlsSession(
        required.port,
        EKS,
        mark(),
        mark(),
        nlb([{ type: 0xe0, value: Buffer.from(mark()) }], VPCE),
      ),
    ).toContain(ENI);
    await tlsSession(required.port, EKS, mark(), mark(), nlb([], `vpce-${mark()}`));
    await tlsSession(
      required.port,
      EKS,
      mark(),
      mark(),
      nlb([{ type: 0x05, value: Buffer.from(mark()) }], VPCE, 'local'),
    );
    await tlsSession(
      required.port,
      EKS,
      mark(),
      mark(),
      nlb([{ type: 0xea, value: Buffer.concat([Buffer.from([0x02]), Buffer.from(mark())]) }], VPCE),
    );

    const metricsText = [(await off.health('/metrics')).body, (await required.health('/metrics')).body];
    for (const p of [off, required]) {
      p.signal('SIGTERM');
      await p.exited;
    }

    // Every scenario reached the proxy and was logged: the scan below looks at real output.
    const reasons = (p: ProxyProcess) => p.connections().map((l) => l.reason);
    expect(reasons(off)).toEqual(expect.arrayContaining(['client_hello_invalid', 'ok', 'sni_not_allowed']));
    expect(off.connections().length).toBe(9);
    expect(reasons(required)).toEqual(
      expect.arrayContaining(['proxy_header_invalid', 'ok', 'vpce_not_allowed']),
    );
    expect(required.connections().length).toBe(6);

    const output = [
      ...[off, required].flatMap((p) => [...p.events.map((e) => JSON.stringify(e)), ...p.stderr]),
      ...metricsText,
    ].join('\n');
    expect(output.length).toBeGreaterThan(5000);
    expect(markers.length).toBeGreaterThanOrEqual(25);
    // Any 6 bytes of a marker, as text or as hex (a log that printed "the first bytes" in
    // hex would show a window of them), count as a hit.
    const lower = output.toLowerCase();
    const hits = markers.filter((m) => {
      for (let i = 0; i + 6 <= m.length; i++) {
        const w = m.slice(i, i + 6);
        if (lower.includes(w.toLowerCase()) || lower.includes(Buffer.from(w).toString('hex'))) return true;
      }
      return false;
    });
    expect(hits).toEqual([]);
  }, 60_000);
});
