/**
 * The health port: `/healthz` (alive), `/readyz` (the prober's cached verdict; a request
 * never triggers DNS or a dial) and `/metrics`. An NLB whose target group has PROXY v2 on
 * sends a header (command LOCAL) before its health-check request too, so a connection may
 * start with one: it is parsed and stripped here, then the socket goes to the HTTP server.
 */
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Logger } from '../../common/logger.js';
import { METRICS_CONTENT_TYPE } from './metrics.js';
import { parseProxyHeader, PROXY_V2_SIGNATURE } from '../wire/proxy-protocol.js';

/** What /readyz reports: served as JSON, 200 when ready, else 503. */
export interface Readiness {
  readonly ready: boolean;
  /** Why not ready (draining, probe failing, not probed yet). */
  readonly reason?: string;
  readonly routes?: readonly { name: string; ok: boolean; result: string }[];
}

export interface HealthSource {
  readiness(): Readiness;
  /** Prometheus text exposition of the whole process group. */
  metrics(): Promise<string>;
}

export interface HealthServerOptions {
  readonly host: string;
  readonly port: number;
  readonly source: HealthSource;
  readonly logger: Logger;
  /** Time allowed for an optional PROXY v2 header to arrive. @default 3000 */
  readonly proxyHeaderTimeoutMs?: number;
  /** Time allowed for each request's line and headers, from connect or the previous response. @default 5000 */
  readonly requestTimeoutMs?: number;
  /** Health sockets open at once; more are closed on accept. @default 128 */
  readonly maxConnections?: number;
}

/** Far above an NLB health-check header (16 bytes, LOCAL, no TLVs); a bound, not a tuning knob. */
const MAX_PROXY_HEADER_BYTES = 1024;
/** A health checker sends its request at once; a socket quiet this long is closed. */
const IDLE_TIMEOUT_MS = 10_000;
/**
 * The idle timeout restarts on every byte, so alone it lets a client trickle a header a
 * byte at a time for hours; and the HTTP server never listens itself, so its own
 * headersTimeout never runs. This deadline per request does that job.
 */
const REQUEST_TIMEOUT_MS = 5000;
/**
 * NLB nodes (one per zone) and a scraper need a handful; the cap keeps a flood on this
 * port from taking the file descriptors the data port needs.
 */
const MAX_CONNECTIONS = 128;

export class HealthServer {
  private readonly http = createHttpServer({ keepAliveTimeout: 5000 });
  private readonly net: Server;
  /** The HTTP server never listens itself, so it neither tracks nor times out these: done here. */
  private readonly sockets = new Set<Socket>();
  /** Per socket: the deadline for the request being read (absent while one is served). */
  private readonly requestDeadlines = new Map<Socket, NodeJS.Timeout>();
  private readonly options: HealthServerOptions;

  constructor(options: HealthServerOptions) {
    this.options = options;
    this.http.on('request', (req, res) => {
      this.clearRequestDeadline(req.socket);
      res.once('finish', () => this.startRequestDeadline(req.socket));
      void this.handle(req, res);
    });
    this.net = createNetServer({ pauseOnConnect: false }, (socket) => this.sniff(socket));
    this.net.maxConnections = options.maxConnections ?? MAX_CONNECTIONS;
  }

  private startRequestDeadline(socket: Socket): void {
    if (socket.destroyed) return;
    this.clearRequestDeadline(socket);
    const ms = this.options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS;
    this.requestDeadlines.set(
      socket,
      setTimeout(() => socket.destroy(), ms),
    );
  }

  private clearRequestDeadline(socket: Socket): void {
    clearTimeout(this.requestDeadlines.get(socket));
    this.requestDeadlines.delete(socket);
  }

  listen(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.net.once('error', reject);
      this.net.listen({ host: this.options.host, port: this.options.port }, () => {
        this.net.off('error', reject);
        resolve(this.net.address() as AddressInfo);
      });
    });
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.net.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  /** Strip an optional PROXY v2 header, then hand the socket (and what follows it) to HTTP. */
  private sniff(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => {
      this.sockets.delete(socket);
      this.clearRequestDeadline(socket);
    });
    socket.setTimeout(IDLE_TIMEOUT_MS, () => socket.destroy());
    this.startRequestDeadline(socket);
    let buffered = Buffer.alloc(0);
    const timer = setTimeout(() => socket.destroy(), this.options.proxyHeaderTimeoutMs ?? 3000);
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      let rest = buffered;
      if (buffered[0] === PROXY_V2_SIGNATURE[0]) {
        const parsed = parseProxyHeader(buffered, MAX_PROXY_HEADER_BYTES);
        if (parsed.kind === 'needMore') return;
        if (parsed.kind === 'error') {
          this.options.logger.debug({ event: 'health_proxy_header_invalid', code: parsed.error.code });
          finish();
          socket.destroy();
          return;
        }
        rest = buffered.subarray(parsed.consumed);
      }
      finish();
      socket.pause();
      if (rest.length > 0) socket.unshift(rest);
      this.http.emit('connection', socket);
      socket.resume();
    };
    const finish = (): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', onError);
    };
    const onError = (): void => {
      finish();
      socket.destroy();
    };
    socket.on('data', onData);
    socket.on('error', onError);
    socket.once('close', () => clearTimeout(timer));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      reply(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n', { allow: 'GET, HEAD' });
      return;
    }
    switch (path) {
      case '/healthz':
        reply(res, 200, 'text/plain; charset=utf-8', 'ok\n');
        return;
      case '/readyz': {
        const r = this.options.source.readiness();
        reply(res, r.ready ? 200 : 503, 'application/json', `${JSON.stringify(r)}\n`);
        return;
      }
      case '/metrics':
        try {
          reply(res, 200, METRICS_CONTENT_TYPE, await this.options.source.metrics());
        } catch (err) {
          this.options.logger.warn({ event: 'metrics_failed', err: String(err) });
          reply(res, 500, 'text/plain; charset=utf-8', 'metrics unavailable\n');
        }
        return;
      default:
        reply(res, 404, 'text/plain; charset=utf-8', 'not found: try /healthz, /readyz or /metrics\n');
    }
  }
}

function reply(
  res: ServerResponse,
  status: number,
  contentType: string,
  body: string,
  extra: Record<string, string> = {},
): void {
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    ...extra,
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
