/**
 * The upstream socket reads into a buffer the proxy owns (Node's `onread`), instead of into
 * a fresh 64 KiB buffer Node allocates for every read: upstream-to-client is the direction
 * kube traffic is made of (list and watch responses), and a buffer per read is what the
 * garbage collector spent most of the relay's time on (docs/benchmark.md).
 *
 * A buffer is reused only when nothing else still holds it: after each read the bytes are
 * written to the client, and if that write did not complete at once (the client socket
 * queued it, so libuv or the stream keeps a pointer into the buffer) the next read gets a
 * new buffer and the old one belongs to the write until it is done. So a fast client costs
 * no allocation at all, and a slow one (backpressure) costs what Node's own reads cost.
 *
 * The buffer is large (64 KiB) while reads are large, small (2 KiB) after a small read, so
 * an idle connection (a watch between events) holds 2 KiB, not 64. Buffers nothing holds any
 * more (the connection went small, or closed) go back to a bounded per-process pool, so a
 * new connection takes one from there instead of allocating, and a burst of short
 * connections leaves no 64 KiB garbage each for the collector. Node accepts `onread` only on
 * sockets it connects, so the client-to-upstream direction keeps Node's own reads.
 */
import type { OnReadOpts, Socket } from 'node:net';

export const LARGE_READ_BYTES = 64 * 1024;
export const SMALL_READ_BYTES = 2 * 1024;
/** Free buffers kept for reuse, per size: at most 4 MiB of large ones and 512 KiB of small. */
export const POOL_LARGE = 64;
export const POOL_SMALL = 256;

/** Buffers no socket reads into and no write holds, by size. */
export class BufferPool {
  private readonly large: Buffer[] = [];
  private readonly small: Buffer[] = [];
  /** Buffers allocated because the pool had none (for tests). */
  allocated = 0;

  take(size: number): Buffer {
    const free = size === LARGE_READ_BYTES ? this.large : this.small;
    const b = free.pop();
    if (b !== undefined) return b;
    this.allocated += 1;
    return Buffer.allocUnsafeSlow(size);
  }

  give(b: Buffer): void {
    const [free, max] = b.length === LARGE_READ_BYTES ? [this.large, POOL_LARGE] : [this.small, POOL_SMALL];
    if (free.length < max) free.push(b);
  }

  get free(): number {
    return this.large.length + this.small.length;
  }
}

/** The process's pool (one event loop: no locking). */
export const readBufferPool = new BufferPool();

export class UpstreamReads {
  private current: Buffer;
  private large = true;
  private pinned = false;
  private released = false;
  private client: Socket | undefined;
  /** Bytes read before the client was attached, copied (a server that speaks first). */
  private early: Buffer[] = [];
  private buffers = 1;

  constructor(private readonly pool: BufferPool = readBufferPool) {
    this.current = pool.take(LARGE_READ_BYTES);
  }

  /** For the upstream socket's options (net.connect `onread`). */
  readonly onread: OnReadOpts = {
    buffer: () => this.next(),
    callback: (n, buffer) => this.deliver(n, buffer as Buffer),
  };

  /** From now on what the upstream sends is written to `client`; what came before goes first. */
  attach(client: Socket): void {
    this.client = client;
    for (const chunk of this.early) client.write(chunk);
    this.early = [];
  }

  /**
   * Both sockets have closed: no read or write can touch the buffer any more, so it goes back
   * to the pool (a pinned one too: a closed socket's writes are done or cancelled).
   */
  release(): void {
    if (this.released) return;
    this.released = true;
    this.pool.give(this.current);
  }

  /** Buffers this connection has read into (one while the client keeps up and reads stay large). */
  get buffersUsed(): number {
    return this.buffers;
  }

  /** Bytes of the buffer held for the next read. */
  get holding(): number {
    return this.current.length;
  }

  /** The buffer the next read goes into. */
  private next(): Buffer {
    const size = this.large ? LARGE_READ_BYTES : SMALL_READ_BYTES;
    if (this.pinned || this.current.length !== size) {
      // A pinned buffer belongs to its write now; one that is merely the wrong size is free.
      if (!this.pinned) this.pool.give(this.current);
      this.current = this.pool.take(size);
      this.buffers += 1;
      this.pinned = false;
    }
    return this.current;
  }

  /** One read of `n` bytes into `buffer`; false pauses the upstream (the client is full, or not there yet). */
  private deliver(n: number, buffer: Buffer): boolean {
    this.large = n >= SMALL_READ_BYTES;
    const client = this.client;
    if (client === undefined) {
      this.early.push(Buffer.from(buffer.subarray(0, n)));
      return false;
    }
    const more = client.write(buffer.subarray(0, n));
    // Anything still queued on the client may be this buffer: the next read needs another.
    this.pinned = client.writableLength > 0;
    return more;
  }
}
