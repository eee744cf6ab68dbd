import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPki, type TestPki } from '../../standins/pki.js';
import { TestDnsServer } from '../../standins/dns-server.js';
import { NODE, parseMetrics, ProxyProcess, startStreamUpstream } from './lifecycle-harness.js';

// This file's loopback block: 127.0.124.0/24.
const EKS = 'dd00bb11cc22dd33ee44ff5566778899.gr7.us-east-1.eks.amazonaws.com';
const HELLOS = 16;
let pki: TestPki;
let dns: TestDnsServer;
let upstream: Awaited<ReturnType<typeof startStreamUpstream>>;
let proxy: ProxyProcess;
let plain: ChildProcess;
let plainPort: number;

/** A ClientHello of `size` handshake bytes, one byte per TLS record (6 bytes on the wire each). */
function oneByteRecords(size: number): Buffer {
  const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);
  const name = Buffer.from(EKS);
  const sniEntry = Buffer.concat([Buffer.from([0]), u16(name.length), name]);
  const sni = Buffer.concat([u16(0), u16(sniEntry.length + 2), u16(sniEntry.length), sniEntry]);
  const fixed = 2 + 32 + 1 + 2 + 2 + 2 + 2; // version, random, sid, suites, compression, ext length
  const padLen = size - 4 - fixed - sni.length - 4;
  const exts = Buffer.concat([sni, u16(21), u16(padLen), Buffer.alloc(padLen)]);
  const body = Buffer.concat([
    Buffer.from([3, 3]),
    Buffer.alloc(32, 9),
    Buffer.from([0]),
    u16(2),
    Buffer.from([0x13, 0x01]),
    Buffer.from([1, 0]),
    u16(exts.length),
    exts,
  ]);
  const hs = Buffer.concat([Buffer.from([1, 0, body.length >> 8, body.length & 0xff]), body]);
  return Buffer.concat([...hs].map((b) => Buffer.from([22, 3, 1, 0, 1, b])));
}

/** CPU seconds (user + system) a process has used so far. */
function cpuSec(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Send `bytes` to host:port one 6-byte record per write (so per segment), then close. */
async function dribble(port: number, bytes: Buffer): Promise<void> {
  const s = net.connect({ host: '127.0.0.1', port, noDelay: true });
  s.on('error', () => {});
  await once(s, 'connect');
  for (let i = 0; i < bytes.length && !s.destroyed; i += 6) {
    s.write(bytes.subarray(i, i + 6));
    await new Promise((r) => setImmediate(r));
  }
  s.destroy();
}

beforeAll(async () => {
  pki = await createPki({ dnsNames: [EKS] });
  dns = await TestDnsServer.start({ host: '127.0.124.53' });
  upstream = await startStreamUpstream('127.0.124.11', pki, 1);
  dns.set(EKS, { a: ['127.0.124.11'] });
  proxy = await ProxyProcess.start(
    {
      listen: { host: '127.0.0.1', port: 0 },
      routes: [{ sni: EKS, upstreamPort: upstream.port }],
      allowedUpstreamCidrs: ['127.0.124.0/24'],
      dns: { servers: [dns.server], timeoutMs: 500, tries: 1 },
      health: { host: '127.0.0.1', port: 0 },
      workers: 1,
    },
    mkdtempSync(join(tmpdir(), 'ekslink-hostile-')),
  );
  // The baseline: a plain Node socket server that only reads what it is sent.
  plain = spawn(
    NODE,
    [
      '-e',
      `require('node:net').createServer((s) => { s.on('data', () => {}); s.on('error', () => {}); })
        .listen(0, '127.0.0.1', function () { console.log(this.address().port); });`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const [line] = (await once(plain.stdout!, 'data')) as [Buffer];
  plainPort = Number(line.toString().trim());
});

afterAll(async () => {
  plain?.kill();
  await proxy?.kill();
  await upstream?.close();
  await dns?.close();
});

describe('a ClientHello of 1-byte TLS records, one record per segment', () => {
  it('costs the proxy a small factor of what reading the bytes costs a plain socket, and stalls no one', async () => {
    // The largest such hello maxBytes (16384) admits: 2730 records.
    const hello = oneByteRecords(Math.floor(16_384 / 6));
    expect(hello.length).toBeLessThanOrEqual(16_384);

    const measure = async (pid: number, port: number): Promise<number> => {
      const before = cpuSec(pid);
      for (let i = 0; i < HELLOS; i++) await dribble(port, hello);
      await new Promise((r) => setTimeout(r, 100));
      return cpuSec(pid) - before;
    };
    // The proxy's own event-loop delay per phase (a scrape ends one window and starts the
    // next): while the plain socket gets the bytes (the proxy idle: the machine's noise),
    // then while the proxy gets them.
    const lag = async (): Promise<Map<string, number>> => parseMetrics((await proxy.health('/metrics')).body);
    await lag();
    const baseline = await measure(plain.pid!, plainPort);
    const idleP99 = (await lag()).get('ekslink_nodejs_eventloop_lag_p99_seconds')!;
    const proxyCpu = await measure(proxy.pid, proxy.port);
    const m = await lag();
    const p99 = m.get('ekslink_nodejs_eventloop_lag_p99_seconds')!;
    const max = m.get('ekslink_nodejs_eventloop_lag_max_seconds')!;

    expect(baseline).toBeGreaterThan(0);
    expect(proxyCpu / baseline).toBeLessThan(3);
    // Nothing waits behind the parse: the proxy's loop answers within a few ms.
    expect(p99).toBeLessThan(idleP99 + 0.03);
    expect(max).toBeLessThan(0.1);
    // Every hello was complete and refused on its merits, not by a limit or a timeout.
    while (proxy.connections().length < HELLOS) await new Promise((r) => setTimeout(r, 20));
    expect(proxy.connections().filter((l) => l.sni === EKS).length).toBe(HELLOS);
  }, 60_000);
});
