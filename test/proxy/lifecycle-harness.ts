/**
 * Lifecycle tests run the real CLI bundle (`npm run build` output, the file the Dockerfile
 * copies) as a child process and drive it with real signals; upstreams are real TLS
 * servers on loopback and DNS is the testbed's authoritative server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll } from 'vitest';
import type { ProxyConfigInput } from '../../proxy/config/schema.js';
import { TestDnsServer } from '../../standins/dns-server.js';
import { createPki, type TestPki } from '../../standins/pki.js';

export const ROOT = resolve(import.meta.dirname, '../..');
export const BUNDLE = join(ROOT, 'dist/ekslink.mjs');
export const NODE = join(ROOT, 'node_modules/.bin/node');

export type Event = Record<string, unknown> & { event?: string; pid?: number };

/** Fail early with a clear message rather than a spawn error deep inside a test. */
export function requireBundle(): void {
  if (!existsSync(BUNDLE))
    throw new Error(`${BUNDLE} is missing: run \`npm run build\` first (npm test does)`);
}

/** The JSON log lines of a proxy child process, parsed as they arrive, with waits on them. */
export class ProxyLog {
  readonly events: Event[] = [];
  readonly stderr: string[] = [];
  private waiters: { pred: (e: Event) => boolean; resolve: (e: Event) => void }[] = [];

  constructor(readonly child: ChildProcess) {
    let partial = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      partial += chunk.toString('utf8');
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const text of lines) {
        if (text.trim() === '') continue;
        let e: Event;
        try {
          e = JSON.parse(text) as Event;
        } catch {
          e = { event: 'non_json', text };
        }
        this.events.push(e);
        this.waiters = this.waiters.filter((w) => (w.pred(e) ? (w.resolve(e), false) : true));
      }
    });
    child.stderr?.on('data', (c: Buffer) => this.stderr.push(c.toString('utf8')));
  }

  waitFor(pred: (e: Event) => boolean, timeoutMs = 10_000): Promise<Event> {
    const found = this.events.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching log line in ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({
        pred,
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e);
        },
      });
    });
  }

  connections(): Event[] {
    return this.events.filter((e) => e.event === 'connection');
  }
}

export class ProxyProcess extends ProxyLog {
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  port = 0;
  healthPort = 0;

  private constructor(
    child: ChildProcess,
    readonly configPath: string,
  ) {
    super(child);
    this.exited = new Promise((r) => child.once('close', (code, signal) => r({ code, signal })));
  }

  /**
   * Write the config, spawn `ekslink proxy --config`, wait for the `listening` line.
   * `launcher` runs it through another command that execs it, e.g. `['ip', 'netns', 'exec', ns]`.
   */
  static async start(
    config: ProxyConfigInput,
    dir = mkdtempSync(join(tmpdir(), 'ekslink-life-')),
    launcher: readonly string[] = [],
  ): Promise<ProxyProcess> {
    requireBundle();
    const configPath = join(dir, 'proxy.json');
    writeFileSync(configPath, JSON.stringify(config, null, 2));
    const argv = [...launcher, NODE, BUNDLE, 'proxy', '--config', configPath];
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    const p = new ProxyProcess(child, configPath);
    const listening = await Promise.race([
      p.waitFor((e) => e.event === 'listening', 20_000),
      p.exited.then((x) => {
        throw new Error(`proxy exited before listening (${JSON.stringify(x)}): ${p.stderr.join('')}`);
      }),
    ]);
    p.port = listening.port as number;
    p.healthPort = listening.healthPort as number;
    return p;
  }

  get pid(): number {
    return this.child.pid as number;
  }

  signal(sig: NodeJS.Signals): void {
    process.kill(this.pid, sig);
  }

  rewriteConfig(config: ProxyConfigInput | string): void {
    writeFileSync(this.configPath, typeof config === 'string' ? config : JSON.stringify(config, null, 2));
  }

  async health(path: string): Promise<{ status: number; body: string }> {
    const res = await fetch(`http://127.0.0.1:${this.healthPort}${path}`);
    return { status: res.status, body: await res.text() };
  }

  async waitReady(timeoutMs = 10_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      if ((await this.health('/readyz')).status === 200) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('proxy did not become ready');
  }

  /** Stop the child if a test left it running. */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}

/** Parse Prometheus text into `name{labels}` -> value (labels exactly as printed). */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

/**
 * A TLS upstream speaking a tiny stream protocol: the client sends `N\n` and gets N lines
 * `chunk i\n`, one every `intervalMs`, then the server ends; `echo\n` echoes what follows.
 */
export async function startStreamUpstream(
  host: string,
  pki: TestPki,
  intervalMs = 100,
): Promise<{ server: tls.Server; port: number; close: () => Promise<void> }> {
  const sockets = new Set<tls.TLSSocket>();
  const server = tls.createServer({ cert: pki.serverCertPem, key: pki.serverKeyPem }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buf = '';
    socket.on('data', function onData(d: Buffer) {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      socket.off('data', onData);
      const n = Number(buf.slice(0, nl));
      let i = 0;
      const timer = setInterval(() => {
        if (socket.destroyed) return clearInterval(timer);
        socket.write(`chunk ${i++}\n`);
        if (i >= n) {
          clearInterval(timer);
          socket.end();
        }
      }, intervalMs);
      socket.on('close', () => clearInterval(timer));
    });
  });
  await new Promise<void>((r) => server.listen(0, host, () => r()));
  const port = (server.address() as net.AddressInfo).port;
  return {
    server,
    port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

export interface StreamClient {
  readonly socket: tls.TLSSocket;
  readonly lines: string[];
  /** Resolves when the connection closes, with the time it happened. */
  readonly closed: Promise<number>;
  readonly error: () => Error | undefined;
}

/** TLS through the proxy with `sni`, verified with the test CA; optionally after raw bytes (a PROXY header). */
export async function openStream(
  port: number,
  sni: string,
  ca: string,
  chunks: number,
  prefix?: Buffer,
): Promise<StreamClient> {
  const raw = net.connect({ host: '127.0.0.1', port });
  await new Promise<void>((r, j) => raw.once('connect', () => r()).once('error', j));
  if (prefix) raw.write(prefix);
  const socket = tls.connect({ socket: raw, servername: sni, ca });
  const lines: string[] = [];
  let err: Error | undefined;
  let partial = '';
  socket.on('data', (d: Buffer) => {
    partial += d.toString();
    const parts = partial.split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
  });
  socket.on('error', (e) => (err = e));
  const closed = new Promise<number>((r) => socket.once('close', () => r(Date.now())));
  await new Promise<void>((r) => {
    socket.once('secureConnect', () => r());
    socket.once('close', () => r());
  });
  if (!socket.destroyed) socket.write(`${chunks}\n`);
  return { socket, lines, closed, error: () => err };
}

/** One TLS connection: resolves `ok` when the handshake completes, else the error code. */
export async function tryHandshake(port: number, sni: string, ca: string, prefix?: Buffer): Promise<string> {
  const s = await openStream(port, sni, ca, 1, prefix).catch((e: NodeJS.ErrnoException) => ({ failed: e }));
  if ('failed' in s) return s.failed.code ?? 'ERROR';
  await s.closed;
  const e = s.error() as NodeJS.ErrnoException | undefined;
  if (s.lines.length === 1) return 'ok';
  return e?.code ?? 'CLOSED';
}

/** One proxy process of a test file, in front of one stream upstream, with its DNS server and PKI. */
export interface StreamProxy {
  readonly dns: TestDnsServer;
  readonly pki: TestPki;
  readonly upstream: Awaited<ReturnType<typeof startStreamUpstream>>;
  readonly proxy: ProxyProcess;
  /** The proxy config routing `snis` to the upstream (also what the proxy starts with). */
  config(snis: string[]): ProxyConfigInput;
}

/**
 * Register beforeAll/afterAll hooks that start, then stop, a StreamProxy: every hostname
 * resolves to `${block}.1` (the file's own loopback /24), where the upstream sends a chunk
 * every `chunkIntervalMs`; the proxy first serves `served`.
 */
export function useStreamProxy(options: {
  block: string;
  hostnames: string[];
  served: string[];
  chunkIntervalMs: number;
  drainDeadlineSec: number;
  workers: number;
}): StreamProxy {
  const address = `${options.block}.1`;
  let dns: TestDnsServer;
  let pki: TestPki;
  let upstream: StreamProxy['upstream'];
  let proxy: ProxyProcess;
  const config = (snis: string[]): ProxyConfigInput => ({
    listen: { host: '127.0.0.1', port: 0 },
    routes: snis.map((sni) => ({ sni, upstreamPort: upstream.port })),
    allowedUpstreamCidrs: [`${options.block}.0/24`],
    dns: { servers: [dns.server], timeoutMs: 500, tries: 1 },
    health: { host: '127.0.0.1', port: 0, probeIntervalMs: 100 },
    drain: { graceSec: 0, deadlineSec: options.drainDeadlineSec },
    workers: options.workers,
  });

  beforeAll(async () => {
    dns = await TestDnsServer.start();
    pki = await createPki({ dnsNames: options.hostnames });
    upstream = await startStreamUpstream(address, pki, options.chunkIntervalMs);
    for (const name of options.hostnames) dns.set(name, { a: [address] });
    proxy = await ProxyProcess.start(config(options.served));
  });
  afterAll(async () => {
    await proxy.kill();
    await Promise.all([dns.close(), upstream.close()]);
  });

  return {
    get dns() {
      return dns;
    },
    get pki() {
      return pki;
    },
    get upstream() {
      return upstream;
    },
    get proxy() {
      return proxy;
    },
    config,
  };
}
