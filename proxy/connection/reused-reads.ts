/**
 * A socket reads into buffers the proxy owns (Node's `onread`) instead of into a fresh
 * 64 KiB buffer Node allocates for every read: a buffer per read is what the garbage
 * collector spent most of the relay's time on (docs/benchmark.md). Both sockets of a
 * connection read this way: the upstream one is dialled with `onread`, the accepted client
 * one is given it by accepted-reads.ts.
 *
 * A buffer is reused only when nothing else still holds it: after each read the bytes are
 * written to the other socket, and if that write did not complete at once (the socket
 * queued it, so libuv or the stream keeps a pointer into the buffer) the next read gets a
 * new buffer and the old one belongs to the write until it is done. So a fast peer costs
 * no allocation at all, and a slow one (backpressure) costs what Node's own reads cost.
 *
 * The buffer is large (64 KiB) while reads fill it (more is waiting in the kernel), small
 * (256 bytes) after a read that did not (it drained the socket: the connection may now be idle
 * for minutes, a watch between events), so an idle connection holds 256 bytes a socket, not 64 KiB,
 * whatever its last burst was. What an idle kube connection carries (HTTP/2 PINGs and window
 * updates, a few dozen bytes a record) fits; a read that fills the small buffer makes the
 * next one large. Measured (bench:profile): no CPU per connection lost; uploads that a
 * fast proxy drains read by read pay one small read per burst, about 8 % per byte. Buffers nothing
 * holds any more (the connection went small, or closed) go back to a bounded per-process
 * pool, so a new connection takes one from there instead of allocating, and a burst of
 * short connections leaves no 64 KiB garbage each for the collector.
 *
 * Before the other socket is attached, each read is copied (the buffer is reused, the copy
 * is the reader's): handed to `onEarly`'s reader (the client's PROXY header and ClientHello),
 * or kept (`keep`, the default) and written first once attached: a server that speaks
 * first, a client's bytes after its ClientHello while the upstream is dialled. At most
 * EARLY_KEEP_BYTES are kept, then reading pauses and the kernel's buffer holds the rest.
 * Reading on meanwhile is what lets a reset or FIN be seen while the dial is under way.
 */
import type { OnReadOpts, Socket } from 'node:net';

export const LARGE_READ_BYTES = 64 * 1024;
export const SMALL_READ_BYTES = 256;
/** Bytes read before attach that are kept (copied) before reading pauses. */
export const EARLY_KEEP_BYTES = 16 * 1024;
/** Free buffers kept for reuse, per size: at most 4 MiB of large ones and 64 KiB of small. */
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

/** What reads before attach go to: true keeps reading, false pauses the socket. */
export type EarlyReader = (chunk: Buffer) => boolean;

const DISCARD: EarlyReader = () => true;

export class ReusedReads {
  /** Taken at the first read (a socket fed Node's own chunks never takes one). */
  private current: Buffer | undefined;
  private large = true;
  private pinned = false;
  private released = false;
  private dst: Socket | undefined;
  private reader: EarlyReader | undefined;
  /** Bytes read before attach with no reader, copied. */
  private early: Buffer[] = [];
  private earlyBytes = 0;
  private buffers = 0;

  constructor(private readonly pool: BufferPool = readBufferPool) {}

  /** For the socket's options (`onread` of net.connect or net.Socket). */
  readonly onread: OnReadOpts = {
    buffer: () => this.next(),
    callback: (n, buffer) => this.deliver(n, buffer as Buffer),
  };

  /** Until attach, keep what is read (the default), up to EARLY_KEEP_BYTES. */
  keep(): void {
    this.reader = undefined;
  }

  /** Until attach, hand each read (a copy) to `reader` instead of keeping it. */
  onEarly(reader: EarlyReader): void {
    this.reader = reader;
  }

  /** Until attach, drop what is read (a refused client's last bytes): no copy, no pause. */
  discard(): void {
    this.reader = DISCARD;
  }

  /** From now on what the socket reads is written to `dst`; what it kept before goes first. */
  attach(dst: Socket): void {
    this.dst = dst;
    this.reader = undefined;
    for (const chunk of this.early) dst.write(chunk);
    this.early = [];
    this.earlyBytes = 0;
  }

  /**
   * One read of `n` bytes into `buffer`; false pauses the socket (`dst` is full, or not
   * there yet). Also takes chunks Node allocated (accepted-reads.ts's fallback).
   */
  deliver(n: number, buffer: Buffer): boolean {
    // A read that filled its buffer left more in the kernel; one that did not drained it.
    this.large = n === buffer.length;
    const dst = this.dst;
    if (dst === undefined) {
      if (this.reader === DISCARD) return true;
      const copy = Buffer.from(buffer.subarray(0, n));
      if (this.reader !== undefined) return this.reader(copy);
      this.early.push(copy);
      this.earlyBytes += n;
      return this.earlyBytes < EARLY_KEEP_BYTES;
    }
    const more = dst.write(buffer.subarray(0, n));
    // Anything still queued on dst may be this buffer: the next read needs another.
    this.pinned = dst.writableLength > 0;
    return more;
  }

  /**
   * Both sockets have closed: no read or write can touch the buffer any more, so it goes back
   * to the pool (a pinned one too: a closed socket's writes are done or cancelled).
   */
  release(): void {
    if (this.released) return;
    this.released = true;
    if (this.current !== undefined) this.pool.give(this.current);
  }

  /** Buffers this socket has read into (one while the other side keeps up and reads stay large). */
  get buffersUsed(): number {
    return this.buffers;
  }

  /** Bytes of the buffer held for the next read. */
  get holding(): number {
    return this.current?.length ?? 0;
  }

  /** The buffer the next read goes into. */
  private next(): Buffer {
    const size = this.large ? LARGE_READ_BYTES : SMALL_READ_BYTES;
    if (this.current === undefined || this.pinned || this.current.length !== size) {
      // A pinned buffer belongs to its write now; one that is merely the wrong size is free.
      if (this.current !== undefined && !this.pinned) this.pool.give(this.current);
      this.current = this.pool.take(size);
      this.buffers += 1;
      this.pinned = false;
    }
    return this.current;
  }
}
