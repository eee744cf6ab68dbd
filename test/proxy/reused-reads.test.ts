/**
 * ReusedReads (proxy/connection/reused-reads.ts) on real sockets: an upstream socket
 * dialled with its `onread`, relayed into a real client connection the way the splice
 * does it (backpressure pauses the upstream, the client's drain resumes it). The bytes
 * must arrive unchanged whether the client keeps up (one buffer, reused) or reads slowly
 * (writes that do not complete at once: the buffer they hold must not be read into again);
 * an idle connection holds the small buffer; bytes sent before the client is attached
 * come first.
 */
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BufferPool,
  LARGE_READ_BYTES,
  POOL_LARGE,
  SMALL_READ_BYTES,
  ReusedReads,
} from '../../proxy/connection/reused-reads.js';

const MiB = 1024 * 1024;
const HOST = '127.0.0.1';
const servers: net.Server[] = [];
const sockets: net.Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function listen(onSocket: (s: net.Socket) => void): Promise<number> {
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.push(s);
    onSocket(s);
  });
  servers.push(server);
  server.listen({ host: HOST, port: 0 });
  await once(server, 'listening');
  return (server.address() as net.AddressInfo).port;
}

/** A client end that hashes what it receives; `slow` reads in bursts with pauses between. */
async function sink(slow: boolean): Promise<{ port: number; done: Promise<{ bytes: number; sha: string }> }> {
  let resolveDone!: (v: { bytes: number; sha: string }) => void;
  const done = new Promise<{ bytes: number; sha: string }>((r) => (resolveDone = r));
  const port = await listen((s) => {
    const hash = createHash('sha256');
    let bytes = 0;
    s.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      bytes += chunk.length;
      if (slow && bytes % (4 * MiB) < chunk.length) {
        s.pause();
        setTimeout(() => s.resume(), 20);
      }
    });
    s.on('end', () => resolveDone({ bytes, sha: hash.digest('hex') }));
  });
  return { port, done };
}

/** Upstream socket (dialled with `reads`) relayed into a client connection to `clientPort`. */
async function relay(
  upstreamPort: number,
  clientPort: number,
  reads: ReusedReads,
  { attachAfterMs = 0, clientHighWaterMark = 16 * 1024 } = {},
) {
  const upstream = net.connect({ host: HOST, port: upstreamPort, allowHalfOpen: true, onread: reads.onread });
  // net.Socket passes stream options on to its Duplex (the typings do not list them).
  const client = net.connect({
    host: HOST,
    port: clientPort,
    allowHalfOpen: true,
    writableHighWaterMark: clientHighWaterMark,
  } as net.NetConnectOpts);
  sockets.push(upstream, client);
  await Promise.all([once(upstream, 'connect'), once(client, 'connect')]);
  if (attachAfterMs > 0) await new Promise((r) => setTimeout(r, attachAfterMs));
  reads.attach(client);
  client.on('drain', () => upstream.resume());
  upstream.on('end', () => client.end());
  upstream.resume();
  return { upstream, client };
}

function sha(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

describe('ReusedReads', () => {
  it('relays 48 MiB unchanged to a client that keeps up, reusing its buffer', async () => {
    const payload = randomBytes(48 * MiB);
    const upstreamPort = await listen((s) => s.end(payload));
    const client = await sink(false);
    const reads = new ReusedReads();
    await relay(upstreamPort, client.port, reads);
    const got = await client.done;
    expect(got.bytes).toBe(payload.length);
    expect(got.sha).toBe(sha(payload));
    // Node would have allocated one buffer per read (at least 48 MiB / 64 KiB = 768).
    expect(reads.buffersUsed).toBeLessThan(768);
  });

  it('relays 48 MiB unchanged to a slow client: a buffer a pending write holds is never read into', async () => {
    const payload = randomBytes(48 * MiB);
    const upstreamPort = await listen((s) => s.end(payload));
    const client = await sink(true);
    const reads = new ReusedReads();
    // A client queue far above one read: writes that did not complete at once do not pause
    // the upstream, so reads go on while earlier writes still point into their buffers.
    await relay(upstreamPort, client.port, reads, { clientHighWaterMark: 8 * MiB });
    const got = await client.done;
    expect(got.bytes).toBe(payload.length);
    expect(got.sha).toBe(sha(payload));
    // Backpressure made writes wait: those reads needed buffers of their own.
    expect(reads.buffersUsed).toBeGreaterThan(1);
  });

  it('holds the small buffer after a read that drained the socket (an idle watch), the large one while reads fill it', async () => {
    let up!: net.Socket;
    const upstreamPort = await listen((s) => (up = s));
    const client = await sink(false);
    const reads = new ReusedReads();
    const { client: clientSocket } = await relay(upstreamPort, client.port, reads);
    expect(reads.holding).toBe(LARGE_READ_BYTES);
    up.write(Buffer.alloc(100, 1));
    await waitFor(() => clientSocket.bytesWritten >= 100);
    expect(reads.holding).toBe(SMALL_READ_BYTES);
    up.write(Buffer.alloc(SMALL_READ_BYTES, 2));
    await waitFor(() => clientSocket.bytesWritten >= 100 + SMALL_READ_BYTES);
    // That read filled the small buffer: more was waiting, the next one is large.
    expect(reads.holding).toBe(LARGE_READ_BYTES);
    // A burst that one read drains (it does not fill the buffer), then silence: an idle
    // watch after a large event or list holds the small buffer, not 64 KiB.
    up.write(Buffer.alloc(20 * 1024, 3));
    await waitFor(() => clientSocket.bytesWritten >= 100 + SMALL_READ_BYTES + 20 * 1024);
    expect(reads.holding).toBe(SMALL_READ_BYTES);
    up.end();
    expect((await client.done).bytes).toBe(100 + SMALL_READ_BYTES + 20 * 1024);
  });

  it('takes buffers from the pool and gives back only those nothing holds', async () => {
    const pool = new BufferPool();
    let up!: net.Socket;
    const upstreamPort = await listen((s) => (up = s));
    const client = await sink(false);
    const reads = new ReusedReads(pool);
    const { upstream, client: clientSocket } = await relay(upstreamPort, client.port, reads);
    expect(pool.allocated).toBe(1);
    // A small read: the large buffer is free (its write completed at once), back to the pool.
    up.write(Buffer.alloc(100, 1));
    await waitFor(() => clientSocket.bytesWritten >= 100);
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
    const client = await sink(false);
    await relay(upstreamPort, client.port, new ReusedReads(), { attachAfterMs: 40 });
    const got = await client.done;
    expect(got.sha).toBe(sha(Buffer.concat([first, rest])));
  });
});

async function waitFor(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
