/**
 * Joins a client socket and an upstream socket: writes the bytes already read from the
 * client (its ClientHello), then copies both ways with backpressure (a full socket pauses
 * the other side's reads), passes a FIN each way on its own (half-close), and turns on TCP
 * keepalive so idle kube watches survive the NLB's 350 s idle timeout. Chunks are passed
 * as they come: no copies, no allocation per chunk.
 */
import type { Socket } from 'node:net';
import type { CloseReason } from './close-reason.js';

export type SpliceEnd = Extract<
  CloseReason,
  'ok' | 'client_error' | 'upstream_error' | 'idle_timeout' | 'shutdown'
>;

export interface SpliceOptions {
  /** TCP keepalive initial delay on both sockets. */
  readonly keepAliveInitialDelayMs: number;
  /** Close when no byte moved either way for this long; 0 = never. */
  readonly idleTimeoutMs: number;
}

export interface SpliceStats {
  readonly bytesFromClient: number;
  readonly bytesFromUpstream: number;
}

export class Splice {
  private reason: SpliceEnd | undefined;
  private open = 2;
  private readonly clientReadAtStart: number;
  private readonly upstreamReadAtStart: number;
  private finished = false;

  /**
   * Starts at once. `head` is what was read from the client before the upstream existed;
   * `onEnd` runs once, after both sockets have closed.
   */
  constructor(
    private readonly client: Socket,
    private readonly upstream: Socket,
    private readonly head: Buffer,
    options: SpliceOptions,
    private readonly onEnd: (reason: SpliceEnd, stats: SpliceStats) => void,
  ) {
    this.clientReadAtStart = client.bytesRead;
    this.upstreamReadAtStart = upstream.bytesRead;
    client.setKeepAlive(true, options.keepAliveInitialDelayMs);
    upstream.setKeepAlive(true, options.keepAliveInitialDelayMs);
    client.setNoDelay(true);
    upstream.setNoDelay(true);

    client.on('error', () => this.fail('client_error'));
    upstream.on('error', () => this.fail('upstream_error'));
    client.on('close', this.onClose);
    upstream.on('close', this.onClose);
    if (options.idleTimeoutMs > 0) {
      // A socket's timer restarts on reads and on writes, so the client socket alone sees
      // traffic in both directions.
      client.setTimeout(options.idleTimeoutMs, () => this.abort('idle_timeout'));
    }

    if (head.length > 0) upstream.write(head);
    pump(client, upstream);
    pump(upstream, client);
    client.resume();
    upstream.resume();
  }

  get stats(): SpliceStats {
    return {
      bytesFromClient: this.head.length + this.client.bytesRead - this.clientReadAtStart,
      bytesFromUpstream: this.upstream.bytesRead - this.upstreamReadAtStart,
    };
  }

  /** End both sides now with this reason (idle timeout, shutdown). */
  abort(reason: SpliceEnd): void {
    this.reason ??= reason;
    this.client.destroy();
    this.upstream.destroy();
  }

  private fail(reason: SpliceEnd): void {
    this.abort(reason);
  }

  // Both sockets close on their own once both directions have finished (allowHalfOpen and
  // autoDestroy), so a clean close of one side only waits for the other: destroying it here
  // could drop bytes still queued for it.
  private readonly onClose = (): void => {
    this.open -= 1;
    if (this.open > 0 || this.finished) return;
    this.finished = true;
    this.onEnd(this.reason ?? 'ok', this.stats);
  };
}

/** Copy src to dst with backpressure; src's FIN becomes dst's FIN. */
function pump(src: Socket, dst: Socket): void {
  src.on('data', (chunk: Buffer) => {
    if (!dst.write(chunk)) src.pause();
  });
  dst.on('drain', () => src.resume());
  src.on('end', () => dst.end());
}
