/**
 * The proxy's TCP listener: accepts connections up to connections.max, hands each to a
 * ProxyConnection, and supports reload (new config for new connections only), stopping
 * the listener, draining with a deadline, and destroying everything.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { ProxyConfig } from '../config/schema.js';
import { ConnectionLog } from './connection-log.js';
import { KeepAliveArming } from './keepalive-arming.js';
import { ProxyConnection } from './connection.js';
import { adopt } from './accepted-reads.js';
import { ReusedReads } from './reused-reads.js';
import { compileConfig, type CompiledConfig } from '../config/compile.js';
import { FailureMemory, RoundRobin } from '../upstream/dialer.js';
import { ProxyError } from '../errors.js';
import { noopObserver, type ConnectionRecord, type ProxyObserver } from '../observer.js';
import { Resolver } from '../upstream/resolver.js';

export interface ProxyServerOptions {
  config: ProxyConfig;
  logger: Logger;
  /** @default no-op */
  observer?: ProxyObserver;
  /** @default a Resolver built from config.dns */
  resolver?: Resolver;
  /** Pass reusePort to listen (multi-worker without cluster). @default false */
  reusePort?: boolean;
}

export class ProxyServer {
  readonly resolver: Resolver;
  private ctx: CompiledConfig;
  private readonly server: Server;
  private readonly connections = new Set<ProxyConnection>();
  private readonly failures: FailureMemory;
  private readonly balancer = new RoundRobin();
  private readonly logger: Logger;
  private readonly connectionLog: ConnectionLog;
  /** Pairs waiting to have keepalive armed (a closed connection is never among them). */
  readonly keepAliveArming = new KeepAliveArming();
  private readonly observer: ProxyObserver;
  private readonly reusePort: boolean;
  /** Unique within this process and across workers: a random prefix and a counter. */
  private readonly idPrefix = randomBytes(3).toString('hex');
  private nextId = 0;
  private stopped: Promise<void> | undefined;
  private draining: Promise<void> | undefined;
  private idleWaiters: (() => void)[] = [];
  private fallbackLogged = false;

  constructor(options: ProxyServerOptions) {
    this.ctx = compileConfig(options.config);
    this.logger = options.logger;
    this.connectionLog = new ConnectionLog(options.logger);
    this.observer = options.observer ?? noopObserver;
    this.reusePort = options.reusePort ?? false;
    this.resolver = options.resolver ?? new Resolver(this.ctx.resolver);
    this.failures = new FailureMemory(options.config.upstream.failureMemoryMs);
    // Paused: accept() moves each socket's handle to one that reads into the proxy's buffers.
    this.server = createServer({ allowHalfOpen: true, noDelay: true, pauseOnConnect: true }, (socket) =>
      this.accept(socket),
    );
    this.server.on('error', (err) => this.logger.error({ event: 'listener_error', err }, 'listener error'));
  }

  /** Bind listen.host:listen.port; resolves with the bound address (port 0 picks one). */
  listen(): Promise<AddressInfo> {
    const { host, port, backlog } = this.ctx.config.listen;
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => {
        reject(
          new ProxyError(
            'EKL_LISTEN_FAILED',
            `cannot listen on ${host}:${port}: ${(err as NodeJS.ErrnoException).code ?? err.message}`,
            { cause: err, source: 'internal' },
          ),
        );
      };
      this.server.once('error', onError);
      // exclusive: in a cluster worker, bind this process's own socket rather than asking
      // the primary for a shared one, so SO_REUSEPORT spreads connections in the kernel.
      this.server.listen(
        { host, port, backlog, reusePort: this.reusePort, exclusive: this.reusePort },
        () => {
          this.server.off('error', onError);
          resolve(this.server.address() as AddressInfo);
        },
      );
    });
  }

  /** New routes, allowlists and limits apply to connections accepted from now on. */
  reload(config: ProxyConfig): void {
    const ctx = compileConfig(config);
    this.ctx = ctx;
    this.failures.ttlMs = config.upstream.failureMemoryMs;
    this.balancer.retain(new Set(config.routes.map((r) => r.name)));
    this.resolver.reconfigure(ctx.resolver);
    this.logger.info(
      {
        event: 'reloaded',
        routes: ctx.routes.routes.map((r) => r.sni),
        activeConnections: this.connections.size,
      },
      'config reloaded',
    );
  }

  /** Add the bytes open connections relayed since the last call to the observer's counters. */
  flushByteCounts(): void {
    for (const c of this.connections) c.flushBytes();
  }

  get activeConnections(): number {
    return this.connections.size;
  }

  /** Close the listener; connections already accepted carry on. Idempotent. */
  stopAccepting(): Promise<void> {
    this.stopped ??= new Promise((resolve) => {
      if (!this.server.listening) return resolve();
      // server.close's callback waits for every connection; the port is released at once.
      this.server.close();
      setImmediate(resolve);
    });
    return this.stopped;
  }

  /**
   * Stop accepting, then resolve once every connection has ended; connections still open
   * after `deadlineMs` are destroyed (reason shutdown). Idempotent.
   */
  drain(deadlineMs: number): Promise<void> {
    this.draining ??= (async () => {
      await this.stopAccepting();
      if (this.connections.size === 0) return;
      const idle = new Promise<void>((resolve) => this.idleWaiters.push(resolve));
      const deadline = setTimeout(() => {
        this.logger.warn(
          { event: 'drain_deadline', activeConnections: this.connections.size, deadlineMs },
          'drain deadline reached; closing remaining connections',
        );
        for (const c of this.connections) c.destroy();
      }, deadlineMs);
      await idle;
      clearTimeout(deadline);
    })();
    return this.draining;
  }

  /** Close the listener and every connection now (reason shutdown). */
  destroy(): void {
    void this.stopAccepting();
    for (const c of this.connections) c.destroy();
    this.keepAliveArming.close();
    this.resolver.close();
  }

  private accept(socket: Socket): void {
    this.observer.connectionOpened();
    const id = `${this.idPrefix}-${(this.nextId++).toString(36)}`;
    const ctx = this.ctx;
    if (this.connections.size >= ctx.config.connections.max) {
      this.refuseAtLimit(socket, id, ctx.config.connections.max);
      return;
    }
    const reads = new ReusedReads();
    const adopted = adopt(socket, reads, { allowHalfOpen: true, noDelay: true });
    if (!adopted.ownedReads && !this.fallbackLogged) {
      this.fallbackLogged = true;
      this.logger.warn(
        { event: 'owned_reads_unavailable', nodeVersion: process.version },
        'accepted sockets cannot read into the proxy buffers on this Node version; client-to-upstream bytes use Node-allocated ones (more CPU per byte)',
      );
    }
    const connection = new ProxyConnection(adopted.socket, reads, id, ctx, {
      resolver: this.resolver,
      failures: this.failures,
      balancer: this.balancer,
      log: this.connectionLog,
      keepAliveArming: this.keepAliveArming,
      observer: this.observer,
      onClosed: (c) => this.onClosed(c),
    });
    this.connections.add(connection);
  }

  private refuseAtLimit(socket: Socket, id: string, max: number): void {
    socket.on('error', () => {});
    const record: ConnectionRecord = {
      id,
      clientAddress: socket.remoteAddress ?? '',
      clientPort: socket.remotePort ?? 0,
      bytesFromClient: 0,
      bytesFromUpstream: 0,
      durationMs: 0,
      reason: 'connection_limit',
    };
    socket.destroy();
    this.logger.warn(
      {
        event: 'connection',
        ...record,
        error: { code: 'EKL_CONNECTION_LIMIT', message: `connections.max (${max}) connections are open` },
      },
      'connection closed',
    );
    this.observer.connectionClosed(record);
  }

  private onClosed(connection: ProxyConnection): void {
    this.connections.delete(connection);
    if (this.connections.size === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }
}
