/**
 * Joins a client socket and an upstream socket: writes the bytes already read from the
 * client (its ClientHello), then copies both ways with backpressure (a full socket pauses
 * the other side's reads), passes a FIN each way on its own (half-close, for at most
 * halfCloseTimeoutMs), and has TCP keepalive turned on for both sockets once the splice has
 * lived a second (KeepAliveArming; the dialer sets none) so idle kube watches survive
 * the NLB's 350 s idle timeout and a dead peer is found. When one side fails, the other
 * still gets what was already read for it, then a FIN. Chunks are passed on as read, never
 * copied: each socket reads into its own reused buffer (ReusedReads; the upstream socket was
 * dialled with it, the client socket adopted with it).
 */
import type { Socket } from 'node:net';
import type { CloseReason } from '../close-reason.js';
import type { KeepAliveSettings } from '../upstream/dialer.js';
import type { KeepAliveArming, Pending } from './keepalive-arming.js';
import type { ReusedReads } from './reused-reads.js';

export type SpliceEnd = Extract<
  CloseReason,
  'ok' | 'client_error' | 'upstream_error' | 'idle_timeout' | 'half_close_timeout' | 'shutdown'
>;

export interface SpliceOptions {
  /** TCP keepalive for both sockets, set by `arming` once the splice has lived a while. */
  readonly keepAlive: KeepAliveSettings;
  readonly arming: KeepAliveArming;
  /** Close when no byte moved either way for this long; 0 = never. */
  readonly idleTimeoutMs: number;
  /** After the first FIN, close both sides if the other direction has not ended within this long; 0 = never. */
  readonly halfCloseTimeoutMs: number;
}

export interface SpliceStats {
  readonly bytesFromClient: number;
  readonly bytesFromUpstream: number;
  /** The socket error that ended it (ECONNRESET, ETIMEDOUT, EPIPE...), if one did. */
  readonly errno?: string;
}

/**
 * How long the healthy side of a failed connection gets to take the bytes already queued
 * for it before it is closed anyway.
 */
export const ERROR_FLUSH_MS = 5000;

export class Splice {
  private reason: SpliceEnd | undefined;
  private errno: string | undefined;
  private open = 2;
  private readonly clientReadAtStart: number;
  private readonly headBytes: number;
  private readonly upstreamReadAtStart: number;
  private finished = false;
  private lingerTimer: NodeJS.Timeout | undefined;
  private lingerDeadline = Infinity;
  private reportedFromClient = 0;
  private reportedFromUpstream = 0;
  private failing = false;
  private readonly arming: Pending;

  /**
   * Starts at once. `head` is what was read from the client before the upstream existed;
   * `clientReads` and `upstreamReads` are the sockets' read targets; `onEnd` runs once,
   * after both sockets have closed.
   */
  constructor(
    private readonly client: Socket,
    private readonly upstream: Socket,
    head: Buffer,
    private readonly clientReads: ReusedReads,
    private readonly upstreamReads: ReusedReads,
    private readonly options: SpliceOptions,
    private readonly onEnd: (reason: SpliceEnd, stats: SpliceStats) => void,
  ) {
    this.clientReadAtStart = client.bytesRead;
    this.upstreamReadAtStart = upstream.bytesRead;
    this.headBytes = head.length;
    this.arming = options.arming.add([client, upstream], options.keepAlive);

    client.on('error', (err: NodeJS.ErrnoException) => this.fail('client_error', err, client, upstream));
    upstream.on('error', (err: NodeJS.ErrnoException) => this.fail('upstream_error', err, upstream, client));
    client.on('close', this.onClose);
    upstream.on('close', this.onClose);
    if (options.idleTimeoutMs > 0) {
      // A socket's timer restarts on reads and on writes, so the client socket alone sees
      // traffic in both directions.
      client.setTimeout(options.idleTimeoutMs, () => this.abort('idle_timeout'));
    }

    if (head.length > 0) upstream.write(head);
    this.clientReads.attach(upstream);
    this.relayEnd(client, upstream);
    this.upstreamReads.attach(client);
    this.relayEnd(upstream, client);
    client.resume();
    upstream.resume();
  }

  get stats(): SpliceStats {
    return {
      bytesFromClient: this.headBytes + this.client.bytesRead - this.clientReadAtStart,
      bytesFromUpstream: this.upstream.bytesRead - this.upstreamReadAtStart,
      ...(this.errno === undefined ? {} : { errno: this.errno }),
    };
  }

  /** Bytes relayed each way since the last call (for counters that move during long connections). */
  takeBytes(): { fromClient: number; fromUpstream: number } {
    const { bytesFromClient, bytesFromUpstream } = this.stats;
    const out = {
      fromClient: bytesFromClient - this.reportedFromClient,
      fromUpstream: bytesFromUpstream - this.reportedFromUpstream,
    };
    this.reportedFromClient = bytesFromClient;
    this.reportedFromUpstream = bytesFromUpstream;
    return out;
  }

  /** End both sides now with this reason (idle timeout, shutdown). */
  abort(reason: SpliceEnd): void {
    this.reason ??= reason;
    this.client.destroy();
    this.upstream.destroy();
  }

  /**
   * One side failed (Node destroys it). The other side is not destroyed with it: what was
   * already read for it is still in its write queue, so it ends (FIN after those bytes),
   * and is closed once that is written or after ERROR_FLUSH_MS.
   */
  private fail(reason: SpliceEnd, err: NodeJS.ErrnoException, failed: Socket, other: Socket): void {
    if (this.reason === undefined) {
      this.reason = reason;
      this.errno = err.code ?? 'ERROR';
    }
    if (this.failing || other.destroyed) return;
    this.failing = true;
    // Bytes the failed socket read from the kernel but has not emitted yet (it was paused
    // by backpressure) are in its readable buffer (only when it reads Node's own chunks,
    // accepted-reads.ts's fallback): they are the other side's too.
    failed.removeAllListeners('data');
    for (let chunk = failed.read() as Buffer | null; chunk !== null; chunk = failed.read() as Buffer | null) {
      other.write(chunk);
    }
    other.pause();
    other.end();
    other.once('finish', () => other.destroy());
    this.linger(ERROR_FLUSH_MS);
  }

  private relayEnd(src: Socket, dst: Socket): void {
    dst.on('drain', () => src.resume());
    src.on('end', () => {
      // src's FIN becomes dst's FIN; the other direction may carry on, for a while.
      if (!dst.destroyed) dst.end();
      if (this.options.halfCloseTimeoutMs > 0 && this.reason === undefined) {
        this.linger(this.options.halfCloseTimeoutMs, 'half_close_timeout');
      }
    });
  }

  /** Destroy both sockets if they are still open after `ms` (one timer; an earlier deadline wins). */
  private linger(ms: number, reason?: SpliceEnd): void {
    const deadline = performance.now() + ms;
    if (this.lingerTimer !== undefined && deadline >= this.lingerDeadline) return;
    clearTimeout(this.lingerTimer);
    this.lingerDeadline = deadline;
    this.lingerTimer = setTimeout(() => {
      if (reason !== undefined) this.reason ??= reason;
      this.client.destroy();
      this.upstream.destroy();
    }, ms);
    this.lingerTimer.unref();
  }

  // Both sockets close on their own once both directions have finished (allowHalfOpen and
  // autoDestroy), so a clean close of one side only waits for the other: destroying it here
  // could drop bytes still queued for it.
  private readonly onClose = (): void => {
    this.open -= 1;
    if (this.open > 0 || this.finished) return;
    this.finished = true;
    clearTimeout(this.lingerTimer);
    // A short connection must not live on in the arming queue for the rest of its second.
    this.options.arming.cancel(this.arming);
    this.clientReads.release();
    this.upstreamReads.release();
    this.onEnd(this.reason ?? 'ok', this.stats);
  };
}
