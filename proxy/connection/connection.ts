/**
 * One proxied connection, from accept to close: optional PROXY v2 header and endpoint
 * allowlist, ClientHello peek (bounded in bytes and time), route lookup, DNS resolution,
 * address policy, dial, splice. Whatever happens, the connection ends in exactly one
 * place (`complete`), which writes its one log line and tells the observer. Over 300 lines:
 * one connection's life read top to bottom; its phase table is phases.ts.
 */
import type { Socket } from 'node:net';
import { describeError, type ErrorSource } from '../../common/errors.js';
import { ClientHelloReader } from '../wire/client-hello.js';
import type { CloseReason } from '../close-reason.js';
import type { Route } from '../config/schema.js';
import type { CompiledConfig } from '../config/compile.js';
import type { ConnectionLog } from './connection-log.js';
import type { KeepAliveArming } from './keepalive-arming.js';
import { dial, DialCancel, type FailureMemory, type RoundRobin } from '../upstream/dialer.js';
import {
  CLOSE_REASON_OF,
  isConnectionErrorCode,
  ProxyError,
  formatHostPort,
  type ConnectionError,
  type ConnectionErrorCode,
  type DialAttempt,
  UpstreamConnectError,
} from '../errors.js';
import type { ConnectionRecord, ProxyObserver } from '../observer.js';
import { parseProxyHeader, type ProxyHeader } from '../wire/proxy-protocol.js';
import type { Resolver } from '../upstream/resolver.js';
import { ACCEPTS, type ConnectionEvent, type Phase } from './phases.js';
import { Splice } from './splice.js';
import { ReusedReads } from './reused-reads.js';
import { UNRECOGNIZED_NAME_ALERT } from '../wire/tls-alert.js';

export interface ConnectionDeps {
  readonly resolver: Resolver;
  readonly failures: FailureMemory;
  /** Per-route turns: which address each route's next connection tries first. */
  readonly balancer: RoundRobin;
  /** Writes the connection's one log line. */
  readonly log: ConnectionLog;
  /** Turns on keepalive for spliced connections that live past a second. */
  readonly keepAliveArming: KeepAliveArming;
  readonly observer: ProxyObserver;
  /** Called once, after the log line. */
  readonly onClosed: (connection: ProxyConnection) => void;
}

/** After a refusal alert, how long the client gets to close before we cut it off. */
const REFUSAL_LINGER_MS = 1000;
/** Reasons that are the client's doing or normal life; the rest log at warn. */
const INFO_REASONS: ReadonlySet<CloseReason> = new Set(['ok', 'client_error', 'idle_timeout', 'shutdown']);

export class ProxyConnection {
  private phase: Phase;
  private readonly started = performance.now();
  private timer: NodeJS.Timeout | undefined;
  private headerChunks: Buffer | undefined;
  private headerBytes = 0;
  private readonly hello: ClientHelloReader;
  private reason: CloseReason | undefined;
  private error: ConnectionError | undefined;
  private clientAddress: string;
  private clientPort: number;
  private vpcEndpointId: string | undefined;
  private sni: string | undefined;
  private route: Route | undefined;
  private upstreamAddress: string | undefined;
  private upstream: Socket | undefined;
  private splice: Splice | undefined;
  private dnsStale = false;
  /** Addresses that failed before the one that answered (or all of them). */
  private failedAttempts: readonly DialAttempt[] = [];
  private readonly dialCancel = new DialCancel();

  /** `socket` reads into `clientReads` (accepted-reads.ts); nothing else reads it. */
  constructor(
    private readonly socket: Socket,
    private readonly clientReads: ReusedReads,
    readonly id: string,
    private readonly ctx: CompiledConfig,
    private readonly deps: ConnectionDeps,
  ) {
    this.clientAddress = socket.remoteAddress ?? '';
    this.clientPort = socket.remotePort ?? 0;
    const { config } = ctx;
    this.hello = new ClientHelloReader(config.clientHello.maxBytes);
    socket.setNoDelay(true);
    socket.on('error', this.onEarlyError);
    socket.on('close', this.onEarlyClose);
    socket.on('end', this.onEarlyEnd);
    clientReads.onEarly(this.onData);
    if (config.proxyProtocol.mode === 'required') {
      this.phase = 'proxy-header';
      this.startTimer(config.proxyProtocol.timeoutMs, 'EKL_PROXY_HEADER_TIMEOUT', 'complete PROXY v2 header');
    } else {
      this.phase = 'client-hello';
      this.startTimer(config.clientHello.timeoutMs, 'EKL_CLIENT_HELLO_TIMEOUT', 'complete ClientHello');
    }
  }

  private accepts(event: ConnectionEvent): boolean {
    return ACCEPTS[this.phase].has(event);
  }

  /** End now, as `shutdown` (the drain deadline, the server destroyed). */
  destroy(): void {
    if (!this.accepts('shutdown')) return;
    if (this.splice !== undefined) {
      this.splice.abort('shutdown');
      return;
    }
    // A refused connection keeps the reason it was refused with.
    this.reason ??= 'shutdown';
    this.dialCancel.cancel();
    this.phase = 'closing';
    this.socket.destroy();
  }

  private startTimer(ms: number, code: ConnectionErrorCode, what: string): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.refuse(new ProxyError(code, `no ${what} within ${ms} ms`, { source: 'downstream' }), false);
    }, ms);
  }

  /** Client bytes until the ClientHello is complete (each chunk a copy, ours to keep). */
  private readonly onData = (chunk: Buffer): boolean => {
    if (!this.accepts('clientBytes')) return true;
    if (this.phase === 'proxy-header') this.onHeaderData(chunk);
    else this.onHelloData(chunk);
    return true;
  };

  private onHeaderData(chunk: Buffer): void {
    // The header is small (bounded by the parser's maximum), so joining per chunk is cheap.
    const buf = this.headerChunks === undefined ? chunk : Buffer.concat([this.headerChunks, chunk]);
    const r = parseProxyHeader(buf);
    if (r.kind === 'needMore') {
      this.headerChunks = buf;
      return;
    }
    this.headerChunks = undefined;
    if (r.kind === 'error') {
      this.refuse(r.error, false);
      return;
    }
    this.headerBytes = r.consumed;
    if (!this.acceptHeader(r.value)) return;
    this.phase = 'client-hello';
    const { clientHello } = this.ctx.config;
    this.startTimer(clientHello.timeoutMs, 'EKL_CLIENT_HELLO_TIMEOUT', 'complete ClientHello');
    if (buf.length > r.consumed) this.onHelloData(buf.subarray(r.consumed));
  }

  private acceptHeader(header: ProxyHeader): boolean {
    if (header.command === 'proxy' && header.sourceAddress !== undefined) {
      this.clientAddress = header.sourceAddress;
      this.clientPort = header.sourcePort ?? 0;
    }
    this.vpcEndpointId = header.vpcEndpointId;
    const allowed = this.ctx.allowedVpcEndpointIds;
    if (allowed.size > 0 && (header.vpcEndpointId === undefined || !allowed.has(header.vpcEndpointId))) {
      this.refuse(
        new ProxyError(
          'EKL_VPCE_NOT_ALLOWED',
          header.command === 'local'
            ? 'a LOCAL PROXY v2 header names no client and its TLVs are ignored, so it cannot match proxyProtocol.allowedVpcEndpointIds'
            : header.vpcEndpointId === undefined
              ? 'the PROXY v2 header carries no PrivateLink endpoint ID, and proxyProtocol.allowedVpcEndpointIds is set'
              : `VPC endpoint ${header.vpcEndpointId} is not in proxyProtocol.allowedVpcEndpointIds`,
          { source: 'downstream' },
        ),
        false,
      );
      return false;
    }
    return true;
  }

  private onHelloData(chunk: Buffer): void {
    const r = this.hello.push(chunk);
    if (r.kind === 'needMore') return;
    if (r.kind === 'error') {
      this.refuse(r.error, false);
      return;
    }
    clearTimeout(this.timer);
    this.timer = undefined;
    this.phase = 'upstream';
    // Client bytes from now on wait for the upstream (kept, up to a bound, then in the
    // kernel's receive buffer); reading on is what notices a reset while DNS and dial run.
    this.clientReads.keep();
    this.sni = r.value.sni;
    const lookup = this.ctx.routes.lookup(this.sni);
    if ('error' in lookup) {
      this.refuse(lookup.error, true);
      return;
    }
    this.route = lookup.route;
    void this.connectUpstream(lookup.route);
  }

  private async connectUpstream(route: Route): Promise<void> {
    const { config, policy } = this.ctx;
    const { resolver, observer, failures, balancer } = this.deps;
    let addresses: readonly string[];
    const dnsStarted = performance.now();
    try {
      const answer = await resolver.resolve(route.upstreamHost);
      observer.dnsLookup(route.name, answer.stale ? 'stale' : 'ok', (performance.now() - dnsStarted) / 1000);
      this.dnsStale = answer.stale;
      addresses = answer.addresses;
    } catch (err) {
      observer.dnsLookup(route.name, 'error', (performance.now() - dnsStarted) / 1000);
      if (!this.accepts('upstreamAnswer')) return;
      this.refuse(asConnectionError(err, 'EKL_DNS_FAILED'), false);
      return;
    }
    if (!this.accepts('upstreamAnswer')) return;

    const allowed = addresses.filter((a) => policy.allows(a));
    if (allowed.length === 0) {
      const judged = addresses.map((a) => `${a} (${policy.judge(a)})`).join(', ');
      this.refuse(
        new ProxyError(
          'EKL_NO_ALLOWED_ADDRESS',
          `DNS answer for ${route.upstreamHost} has no address inside allowedUpstreamCidrs: ${judged}`,
          { source: 'upstream' },
        ),
        false,
      );
      return;
    }

    const reads = new ReusedReads();
    try {
      const result = await dial(allowed, route.upstreamPort, {
        connectTimeoutMs: config.upstream.connectTimeoutMs,
        failures,
        turn: balancer.next(route.name),
        // No keepalive here: the splice arms it on both sockets if the connection lives on.
        cancel: this.dialCancel,
        onAttempt: (result, sec) => observer.upstreamConnect(route.name, result, sec),
        onread: reads.onread,
      });
      if (!this.accepts('upstreamAnswer')) {
        result.socket.destroy();
        reads.release();
        return;
      }
      this.upstream = result.socket;
      this.failedAttempts = result.failed;
      this.upstreamAddress = formatHostPort(result.address, result.port);
      this.startSplice(result.socket, reads);
    } catch (err) {
      // Every attempt's socket is destroyed: none reads into the buffer any more.
      reads.release();
      if (!this.accepts('upstreamAnswer')) return;
      if (err instanceof UpstreamConnectError) this.failedAttempts = err.attempts;
      this.refuse(asConnectionError(err, 'EKL_UPSTREAM_CONNECT_FAILED'), false);
    }
  }

  private startSplice(upstream: Socket, reads: ReusedReads): void {
    const { connections } = this.ctx.config;
    this.phase = 'spliced';
    this.socket.off('error', this.onEarlyError);
    this.socket.off('close', this.onEarlyClose);
    this.socket.off('end', this.onEarlyEnd);
    this.splice = new Splice(
      this.socket,
      upstream,
      // The splice writes them upstream; an idle connection keeps no copy.
      this.hello.take(),
      this.clientReads,
      reads,
      {
        keepAlive: this.ctx.keepAlive,
        arming: this.deps.keepAliveArming,
        idleTimeoutMs: connections.idleTimeoutMs,
        halfCloseTimeoutMs: connections.halfCloseTimeoutMs,
      },
      (reason, stats) => this.complete(reason, stats.bytesFromClient, stats.bytesFromUpstream, stats.errno),
    );
  }

  /** Bytes relayed since the last call, for the route's byte counters (0 before the splice). */
  flushBytes(): void {
    if (this.splice === undefined || this.route === undefined) return;
    const { fromClient, fromUpstream } = this.splice.takeBytes();
    if (fromClient > 0 || fromUpstream > 0)
      this.deps.observer.bytesRelayed(this.route.name, fromClient, fromUpstream);
  }

  /** Refuse the connection: an unrecognized_name alert first when `alert`, then close. */
  private refuse(error: ConnectionError, alert: boolean): void {
    if (!this.accepts('refusal')) return;
    clearTimeout(this.timer);
    this.phase = 'closing';
    this.reason = CLOSE_REASON_OF[error.code];
    this.error = error;
    this.clientReads.discard();
    if (alert && this.socket.writable) {
      // Discard whatever else the client sends; give it a moment to read the alert and close.
      this.socket.resume();
      this.socket.end(UNRECOGNIZED_NAME_ALERT);
      this.timer = setTimeout(() => this.socket.destroy(), REFUSAL_LINGER_MS);
    } else {
      this.socket.destroy();
    }
  }

  private readonly onEarlyError = (err: Error): void => {
    if (!this.accepts('refusal')) return;
    this.refuse(
      new ProxyError(
        'EKL_CLIENT_CLOSED_EARLY',
        `client connection failed before the upstream was connected: ${describeError(err).code}`,
        { cause: err, source: 'downstream' },
      ),
      false,
    );
  };

  private readonly onEarlyEnd = (): void => {
    if (!this.accepts('refusal')) return;
    const read = this.socket.bytesRead;
    const message =
      this.phase === 'upstream'
        ? `client closed its side after ${read} bytes, while the upstream was being connected`
        : `client closed after ${read} bytes, before a complete ${this.phase === 'proxy-header' ? 'PROXY v2 header' : 'ClientHello'}`;
    this.refuse(new ProxyError('EKL_CLIENT_CLOSED_EARLY', message, { source: 'downstream' }), false);
  };

  private readonly onEarlyClose = (): void => {
    if (!this.accepts('clientClosed')) return;
    clearTimeout(this.timer);
    // Closed before any splice (which releases both sockets' buffers itself): nothing reads.
    this.clientReads.release();
    this.dialCancel.cancel();
    if (this.reason === undefined) {
      this.reason = 'client_closed_early';
      this.error = new ProxyError(
        'EKL_CLIENT_CLOSED_EARLY',
        `client closed during ${this.phase === 'upstream' ? 'upstream connect' : this.phase}`,
        { source: 'downstream' },
      );
    }
    this.complete(this.reason, Math.max(0, this.socket.bytesRead - this.headerBytes), 0);
  };

  private complete(
    reason: CloseReason,
    bytesFromClient: number,
    bytesFromUpstream: number,
    errno?: string,
  ): void {
    if (!this.accepts('end')) return;
    this.phase = 'closed';
    clearTimeout(this.timer);
    this.flushBytes();
    // One object of one shape for every connection (absent fields are undefined, which the
    // log line omits): the log line and the observer share it, nothing is spread or copied.
    const line: ConnectionLine = {
      event: 'connection',
      id: this.id,
      clientAddress: this.clientAddress,
      clientPort: this.clientPort,
      vpcEndpointId: this.vpcEndpointId,
      sni: this.sni,
      route: this.route?.name,
      upstreamAddress: this.upstreamAddress,
      bytesFromClient,
      bytesFromUpstream,
      durationMs: Math.round((performance.now() - this.started) * 10) / 10,
      reason,
      dnsStale: this.dnsStale ? true : undefined,
      upstreamFailures: this.failedAttempts.length === 0 ? undefined : this.failedAttempts.map(failureOf),
      errno,
      error:
        this.error === undefined
          ? undefined
          : { code: this.error.code, message: this.error.message, source: this.error.source },
    };
    this.deps.log.write(INFO_REASONS.has(reason) ? 'info' : 'warn', line, 'connection closed');
    this.deps.observer.connectionClosed(line);
    this.deps.onClosed(this);
  }
}

/** The log line of a connection: its record plus what only the log shows. */
interface ConnectionLine extends ConnectionRecord {
  readonly event: 'connection';
  readonly dnsStale: true | undefined;
  readonly upstreamFailures: { address: string; result: string; errno: string }[] | undefined;
  readonly errno: string | undefined;
  readonly error: { code: string; message: string; source: ErrorSource } | undefined;
}

function failureOf(a: DialAttempt): { address: string; result: string; errno: string } {
  return { address: formatHostPort(a.address, a.port), result: a.result, errno: a.errorCode };
}

/** DNS and dial failures as the connection error they end it with (`code` unless they carry one). */
function asConnectionError(err: unknown, code: ConnectionErrorCode): ConnectionError {
  if (err instanceof ProxyError && isConnectionErrorCode(err.code)) return err as ConnectionError;
  const { message } = describeError(err);
  return new ProxyError(code, message, { cause: err, source: 'upstream' });
}
