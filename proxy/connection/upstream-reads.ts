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
 * an idle connection (a watch between events) holds 2 KiB, not 64. Node accepts `onread` only
 * on sockets it connects, so the client-to-upstream direction keeps Node's own reads.
 */
import type { OnReadOpts, Socket } from 'node:net';

export const LARGE_READ_BYTES = 64 * 1024;
export const SMALL_READ_BYTES = 2 * 1024;

export class UpstreamReads {
  private current = Buffer.allocUnsafeSlow(LARGE_READ_BYTES);
  private large = true;
  private pinned = false;
  private client: Socket | undefined;
  /** Bytes read before the client was attached, copied (a server that speaks first). */
  private early: Buffer[] = [];
  private allocated = 1;

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

  /** Buffers allocated so far (a client that keeps up reuses one). */
  get buffersAllocated(): number {
    return this.allocated;
  }

  /** Bytes of the buffer held for the next read. */
  get holding(): number {
    return this.current.length;
  }

  /** The buffer the next read goes into. */
  private next(): Buffer {
    const size = this.large ? LARGE_READ_BYTES : SMALL_READ_BYTES;
    if (this.pinned || this.current.length !== size) {
      this.current = Buffer.allocUnsafeSlow(size);
      this.allocated += 1;
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
