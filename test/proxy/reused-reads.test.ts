/**
 * ReusedReads (proxy/connection/reused-reads.ts) on real sockets: an upstream socket
 * dialled with its `onread`, relayed into a real client connection the way the splice
 * does it (backpressure pauses the upstream, the client's drain resumes it). The bytes
 * must arrive unchanged whether the client keeps up (one buffer, reused) or reads slowly
 * (writes that do not complete at once: the buffer they hold must not be read into again);
 * an idle connection holds the small buffer; bytes sent before the client is attached
 * come first.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BufferPool,
  LARGE_READ_BYTES,
  POOL_LARGE,
  SMALL_READ_BYTES,
  ReusedReads,
} from '../../proxy/connection/reused-reads.js';
import { waitUntil } from './helpers.js';
import { LoopbackSockets, MiB, relayThrough, sha256 } from './loopback-sockets.js';

const world = new LoopbackSockets();
afterEach(() => world.close());

async function listen(onSocket: (s: net.Socket) => void): Promise<number> {
  return (await world.listen(onSocket)).port;
}

/** Upstream socket (dialled with `reads`) relayed into a client connection to `clientPort`. */
async function relay(
  upstreamPort: number,
  clientPort: number,
  reads: ReusedReads,
  { attachAfterMs = 0, clientHighWaterMark = 16 * 1024 } = {},
) {
  const [upstream, client] = await Promise.all([
    world.connect(upstreamPort, { onread: reads.onread }),
    world.connect(clientPort, { writableHighWaterMark: clientHighWaterMark }),
  ]);
  if (attachAfterMs > 0) await new Promise((r) => setTimeout(r, attachAfterMs));
  relayThrough(upstream, reads, client);
  return { upstream, client };
}

describe('ReusedReads', () => {
  it('relays 48 MiB unchanged to a client that keeps up, reusing its buffer', async () => {
    const payload = randomBytes(48 * MiB);
    const upstreamPort = await listen((s) => s.end(payload));
    const client = await world.sink(false);
    const reads = new ReusedReads();
    await relay(upstreamPort, client.port, reads);
    const got = await client.done;
    expect(got.bytes).toBe(payload.length);
    expect(got.sha).toBe(sha256(payload));
    // Node would have allocated one buffer per read (at least 48 MiB / 64 KiB = 768).
    expect(reads.buffersUsed).toBeLessThan(768);
  });

  it('relays 48 MiB unchanged to a slow client: a buffer a pending write holds is never read into', async () => {
    const payload = randomBytes(48 * MiB);
    const upstreamPort = await listen((s) => s.end(payload));
    const client = await world.sink(true);
    const reads = new ReusedReads();
    // A client queue far above one read: writes that did not complete at once do not pause
    // the upstream, so reads go on while earlier writes still point into their buffers.
    await relay(upstreamPort, client.port, reads, { clientHighWaterMark: 8 * MiB });
    const got = await client.done;
    expect(got.bytes).toBe(payload.length);
    expect(got.sha).toBe(sha256(payload));
    // Backpressure made writes wait: those reads needed buffers of their own.
    expect(reads.buffersUsed).toBeGreaterThan(1);
  });

  it('holds the small buffer after a read that drained the socket (an idle watch), the large one while reads fill it', async () => {
    let up!: net.Socket;
    const upstreamPort = await listen((s) => (up = s));
    const client = await world.sink(false);
    const reads = new ReusedReads();
    const { client: clientSocket } = await relay(upstreamPort, client.port, reads);
    expect(reads.holding).toBe(LARGE_READ_BYTES);
    up.write(Buffer.alloc(100, 1));
    await waitUntil(() => clientSocket.bytesWritten >= 100);
    expect(reads.holding).toBe(SMALL_READ_BYTES);
    up.write(Buffer.alloc(SMALL_READ_BYTES, 2));
    await waitUntil(() => clientSocket.bytesWritten >= 100 + SMALL_READ_BYTES);
    // That read filled the small buffer: more was waiting, the next one is large.
    expect(reads.holding).toBe(LARGE_READ_BYTES);
    // A burst that one read drains (it does not fill the buffer), then silence: an idle
    // watch after a large event or list holds the small buffer, not 64 KiB.
    up.write(Buffer.alloc(20 * 1024, 3));
    await waitUntil(() => clientSocket.bytesWritten >= 100 + SMALL_READ_BYTES + 20 * 1024);
    expect(reads.holding).toBe(SMALL_READ_BYTES);
    up.end();
    expect((await client.done).bytes).toBe(100 + SMALL_READ_BYTES + 20 * 1024);
  });

  it('takes buffers from the pool and gives back only those nothing holds', async () => {
    const pool = new BufferPool();
    let up!: net.Socket;
    const upstreamPort = await listen((s) => (up = s));
    const client = await world.sink(false);
    const reads = new ReusedReads(pool);
    const { upstream, client: clientSocket } = await relay(upstreamPort, client.port, reads);
    expect(pool.allocated).toBe(1);
    // A small read: the large buffer is free (its write completed at once), back to the pool.
    up.write(Buffer.alloc(100, 1));
    await waitUntil(() => clientSocket.bytesWritten >= 100);
    expect(pool.free).toBe(1);
    // The next connection takes that large buffer instead of allocating one.
    const second = new ReusedReads(pool);
    expect(pool.free).toBe(1); // nothing is taken before its socket is set up to read
    (second.onread.buffer as () => Uint8Array)();
    expect(pool.allocated).toBe(2); // the small one of the first connection
    expect(pool.free).toBe(0);
    second.release();
    up.end();
    await client.done;
    const closed = Promise.all([once(upstream, 'close'), once(clientSocket, 'close')]);
    upstream.destroy();
    clientSocket.destroy();
    await closed;
    reads.release();
    reads.release(); // idempotent
    expect(pool.free).toBe(2);
    // Bounded: a pool full of free buffers drops what is given beyond its size.
    for (let i = 0; i < POOL_LARGE + 10; i++) pool.give(Buffer.allocUnsafeSlow(LARGE_READ_BYTES));
    expect(pool.free).toBe(POOL_LARGE + 1);
  });

  it('delivers what a server sent before the client was attached first, in order', async () => {
    const first = randomBytes(3000);
    const rest = randomBytes(200_000);
    const upstreamPort = await listen((s) => {
      s.write(first);
      setTimeout(() => s.end(rest), 80);
    });
    const client = await world.sink(false);
    await relay(upstreamPort, client.port, new ReusedReads(), { attachAfterMs: 40 });
    const got = await client.done;
    expect(got.sha).toBe(sha256(Buffer.concat([first, rest])));
  });
});
