/**
 * Shared pieces of the data-path tests: a pino sink that keeps the JSON lines, a proxy on
 * loopback, TLS upstreams that say which address served them, TLS clients, and capture of
 * real ClientHello bytes. Everything binds port 0 on a 127.0.N.x address of the caller's
 * choosing (each test file has its own /24).
 */
import { once } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../common/logger.js';
import { parseProxyConfig, type ProxyConfig, type ProxyConfigInput } from '../../proxy/config/schema.js';
import type { ConnectResult, ConnectionRecord, DnsResult } from '../../proxy/observer.js';
import { ProxyServer, type ProxyServerOptions } from '../../proxy/connection/server.js';

export type LogLine = Record<string, unknown> & { msg?: string; level?: string };

/** A pino destination that parses and keeps every line (pino's test `sink` pattern). */
export class LogSink extends Writable {
  readonly lines: LogLine[] = [];
  private waiters: { pred: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    for (const text of chunk.toString('utf8').split('\n')) {
      if (text === '') continue;
      const line = JSON.parse(text) as LogLine;
      this.lines.push(line);
      this.waiters = this.waiters.filter((w) => {
        if (!w.pred(line)) return true;
        w.resolve(line);
        return false;
      });
    }
    cb();
  }

  /** Connection log lines (one per closed connection). */
  get connections(): LogLine[] {
    return this.lines.filter((l) => l.event === 'connection');
  }

  /** Resolves with the first line (already seen or future) that matches. */
  waitFor(pred: (l: LogLine) => boolean, timeoutMs = 10_000): Promise<LogLine> {
    const seen = this.lines.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('log line did not arrive')), timeoutMs);
      this.waiters.push({
        pred,
        resolve: (l) => {
          clearTimeout(t);
          resolve(l);
        },
      });
    });
  }

  /** Waits until `n` connection lines exist. */
  async waitForConnections(n: number, timeoutMs = 10_000): Promise<LogLine[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.connections.length < n) {
      if (Date.now() > deadline) throw new Error(`only ${this.connections.length} of ${n} connection lines`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return this.connections;
  }
}

export function sinkLogger(): { sink: LogSink; logger: Logger } {
  const sink = new LogSink();
  return { sink, logger: createLogger({ level: 'debug', destination: sink }) };
}

export interface TestProxy {
  readonly server: ProxyServer;
  readonly host: string;
  readonly port: number;
  readonly sink: LogSink;
  readonly config: ProxyConfig;
  close(): Promise<void>;
}

/** A ProxyServer listening on `host`:0 with the given config (listen and health filled in). */
export async function startProxy(
  host: string,
  input: Omit<ProxyConfigInput, 'listen'>,
  extra: Partial<Omit<ProxyServerOptions, 'config' | 'logger'>> = {},
): Promise<TestProxy> {
  const config = parseProxyConfig({ ...input, listen: { host, port: 0 }, workers: 1 });
  const { sink, logger } = sinkLogger();
  const server = new ProxyServer({ config, logger, ...extra });
  const address = await server.listen();
  return {
    server,
    host,
    port: address.port,
    sink,
    config,
    close: async () => {
      server.destroy();
      await new Promise((r) => setImmediate(r));
    },
  };
}

/** Listen on the same port on every address (port 0 on the first, then that port); retries on clashes. */
export async function listenOnAll<S extends net.Server>(
  addresses: readonly string[],
  make: () => S,
): Promise<{ port: number; servers: Map<string, S> }> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const servers = new Map<string, S>();
    let port = 0;
    try {
      for (const address of addresses) {
        const s = make();
        servers.set(address, s);
        s.listen({ host: address, port });
        await once(s, 'listening');
        port = (s.address() as net.AddressInfo).port;
      }
      return { port, servers };
    } catch {
      await Promise.all([...servers.values()].map((s) => closeServer(s)));
    }
  }
  throw new Error(`could not bind one port on ${addresses.join(', ')}`);
}

export function closeServer(s: net.Server): Promise<void> {
  return new Promise((resolve) => {
    if (!s.listening) return resolve();
    s.close(() => resolve());
  });
}

/**
 * TLS servers standing in for EKS ENIs: on every address, the same port; after the
 * handshake each writes "<its address>\n" and then echoes what it receives.
 */
export class EchoUpstreams {
  private constructor(
    /** TLS connections accepted, per address. */
    readonly accepted: Map<string, number>,
    readonly port: number,
    private readonly servers: Map<string, tls.Server>,
    private readonly sockets: Set<net.Socket>,
    private readonly make: () => tls.Server,
  ) {}

  static async start(addresses: readonly string[], cert: string, key: string): Promise<EchoUpstreams> {
    const sockets = new Set<net.Socket>();
    const accepted = new Map<string, number>();
    const make = (): tls.Server => {
      const s = tls.createServer({ cert, key }, (socket) => {
        const local = socket.localAddress ?? '?';
        accepted.set(local, (accepted.get(local) ?? 0) + 1);
        socket.on('error', () => {});
        socket.write(`${local}\n`);
        socket.pipe(socket);
      });
      s.on('connection', (raw: net.Socket) => {
        sockets.add(raw);
        raw.on('close', () => sockets.delete(raw));
      });
      s.on('tlsClientError', () => {});
      return s;
    };
    const { port, servers } = await listenOnAll(addresses, make);
    return new EchoUpstreams(accepted, port, servers, sockets, make);
  }

  /** Stop listening on one address (the ENI goes away); its connections end too. */
  async stop(address: string): Promise<void> {
    const s = this.servers.get(address);
    if (!s) return;
    this.servers.delete(address);
    for (const sock of this.sockets) if (sock.localAddress === address) sock.destroy();
    await closeServer(s);
  }

  async start(address: string): Promise<void> {
    const s = this.make();
    s.listen({ host: address, port: this.port });
    await once(s, 'listening');
    this.servers.set(address, s);
  }

  async close(): Promise<void> {
    for (const sock of this.sockets) sock.destroy();
    await Promise.all([...this.servers.values()].map((s) => closeServer(s)));
  }
}

const contexts = new Map<string, tls.SecureContext>();

/** One client SecureContext per CA: parsing the CA per connection would dominate a load test. */
function contextFor(ca: string): tls.SecureContext {
  let ctx = contexts.get(ca);
  if (ctx === undefined) {
    ctx = tls.createSecureContext({ ca });
    contexts.set(ca, ctx);
  }
  return ctx;
}

/**
 * TLS through the proxy: connect to host:port with `sni`, verify against `ca`, read the
 * upstream's first line (its address). Rejects on any failure.
 */
export function whoServes(
  host: string,
  port: number,
  sni: string,
  ca: string,
  timeoutMs = 10_000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host, port, servername: sni, secureContext: contextFor(ca) });
    let text = '';
    const timer = setTimeout(() => socket.destroy(new Error('timed out')), timeoutMs);
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      text += d;
      const nl = text.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        socket.end();
        resolve(text.slice(0, nl));
      }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      reject(new Error(`closed before the upstream spoke (got ${JSON.stringify(text)})`));
    });
  });
}

/** What a raw TCP client sees when it sends `bytes` (possibly in pieces) and waits for the close. */
export async function rawExchange(
  host: string,
  port: number,
  pieces: readonly Buffer[],
  options: { gapMs?: number; endAfter?: boolean; timeoutMs?: number } = {},
): Promise<{ received: Buffer; closedMs: number; error?: string }> {
  const started = Date.now();
  const socket = net.connect({ host, port });
  socket.on('error', () => {});
  await once(socket, 'connect');
  const chunks: Buffer[] = [];
  socket.on('data', (d: Buffer) => chunks.push(d));
  let error: string | undefined;
  socket.on('error', (err: NodeJS.ErrnoException) => (error = err.code ?? err.message));
  const closed = once(socket, 'close');
  for (const p of pieces) {
    if (socket.destroyed) break;
    socket.write(p);
    if (options.gapMs) await new Promise((r) => setTimeout(r, options.gapMs));
  }
  if (options.endAfter) socket.end();
  const timeout = setTimeout(() => socket.destroy(), options.timeoutMs ?? 15_000);
  await closed;
  clearTimeout(timeout);
  return { received: Buffer.concat(chunks), closedMs: Date.now() - started, ...(error ? { error } : {}) };
}

/**
 * The exact bytes a real TLS client (node's OpenSSL) sends first: a raw TCP listener
 * receives them and reads records until the declared handshake length is complete.
 */
export async function captureClientHello(host: string, options: tls.ConnectionOptions = {}): Promise<Buffer> {
  const server = net.createServer();
  server.listen({ host, port: 0 });
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  const got = new Promise<Buffer>((resolve, reject) => {
    server.once('connection', (socket) => {
      let buf = Buffer.alloc(0);
      socket.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (handshakeComplete(buf)) {
          socket.destroy();
          resolve(buf);
        }
      });
      socket.on('error', reject);
    });
  });
  const client = tls.connect({ host, port, ...options });
  client.on('error', () => {});
  const bytes = await got;
  client.destroy();
  await closeServer(server);
  return bytes;
}

/** Independent of the parser under test: walk records, compare to the handshake length. */
function handshakeComplete(buf: Buffer): boolean {
  let offset = 0;
  let payload = 0;
  while (offset + 5 <= buf.length) {
    const len = buf.readUInt16BE(offset + 3);
    if (offset + 5 + len > buf.length) return false;
    payload += len;
    offset += 5 + len;
    if (buf.length >= 9 && payload >= buf.readUIntBE(6, 3) + 4) return true;
  }
  return false;
}

/** Polls `cond` every 10 ms until it holds; throws after `timeoutMs`. */
export async function waitUntil(cond: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** An observer that counts what the data path reports, for assertions. */
export class CountingObserver {
  opened = 0;
  readonly closed: ConnectionRecord[] = [];
  readonly dns = new Map<DnsResult, number>();
  readonly connects = new Map<ConnectResult, number>();
  connectionOpened(): void {
    this.opened++;
  }
  connectionClosed(record: ConnectionRecord): void {
    this.closed.push(record);
  }
  dnsLookup(_route: string, result: DnsResult): void {
    this.dns.set(result, (this.dns.get(result) ?? 0) + 1);
  }
  upstreamConnect(_route: string, result: ConnectResult): void {
    this.connects.set(result, (this.connects.get(result) ?? 0) + 1);
  }
  bytes = { fromClient: 0, fromUpstream: 0 };
  bytesRelayed(_route: string, fromClient: number, fromUpstream: number): void {
    this.bytes.fromClient += fromClient;
    this.bytes.fromUpstream += fromUpstream;
  }
}
