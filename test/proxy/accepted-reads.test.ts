/**
 * adopt (proxy/connection/accepted-reads.ts) on real sockets: a socket accepted by a
 * pauseOnConnect server moves to one that reads into a ReusedReads, relayed to a real
 * destination connection the way the splice does it. Bytes must arrive unchanged to a
 * destination that keeps up (one buffer, reused) and to a slow one (a buffer a pending write
 * holds is never read into again); the server's connection count stays right; reads before
 * attach reach the early reader as copies of their own; a reset is seen while bytes are
 * kept; the fallback (Node's own chunks) relays the same bytes.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { adopt, type AdoptedSocket } from '../../proxy/connection/accepted-reads.js';
import { EARLY_KEEP_BYTES, ReusedReads } from '../../proxy/connection/reused-reads.js';
import { waitUntil } from './helpers.js';
import { LoopbackSockets, MiB, relayThrough, sha256 } from './loopback-sockets.js';

const world = new LoopbackSockets();
afterEach(() => world.close());

/** A pauseOnConnect listener whose accepted sockets are adopted with a ReusedReads each. */
async function adoptingListener(forceFallback = false) {
  const adopted: { socket: AdoptedSocket; reads: ReusedReads }[] = [];
  const waiters: (() => void)[] = [];
  const { server, port } = await world.listen(
    (s) => {
      const reads = new ReusedReads();
      const socket = adopt(s, reads, { allowHalfOpen: true, noDelay: true, forceFallback });
      world.track(socket.socket);
      adopted.push({ socket, reads });
      for (const w of waiters.splice(0)) w();
    },
    { pauseOnConnect: true },
  );
  const next = async (): Promise<{ socket: AdoptedSocket; reads: ReusedReads }> => {
    while (adopted.length === 0) await new Promise<void>((r) => waiters.push(r));
    return adopted.shift()!;
  };
  return { server, port, next };
}

/** A client that sends `payload` and FIN to an adopting listener; its adopted socket, and a destination. */
async function sending(payload: Buffer, { slow = false, forceFallback = false } = {}) {
  const listener = await adoptingListener(forceFallback);
  const dst = await world.sink(slow);
  (await world.connect(listener.port)).end(payload);
  return { ...(await listener.next()), dst };
}

/** Relay the adopted socket's reads into a connection to `dstPort` (as the splice does). */
async function relayTo(
  dstPort: number,
  { socket }: AdoptedSocket,
  reads: ReusedReads,
  writableHighWaterMark = 16 * 1024,
): Promise<void> {
  relayThrough(socket, reads, await world.connect(dstPort, { writableHighWaterMark }));
}

describe('adopt', () => {
  it('relays 48 MiB unchanged from an accepted socket to a destination that keeps up, reusing its buffer', async () => {
    const payload = randomBytes(48 * MiB);
    const { socket, reads, dst } = await sending(payload);
    expect(socket.ownedReads).toBe(true);
    await relayTo(dst.port, socket, reads);
    const got = await dst.done;
    expect(got.bytes).toBe(payload.length);
    expect(got.sha).toBe(sha256(payload));
    // Node would have allocated one buffer per read (at least 48 MiB / 64 KiB = 768).
    expect(reads.buffersUsed).toBeLessThan(768);
    expect(socket.socket.bytesRead).toBe(payload.length);
  });

  it('relays 48 MiB unchanged to a slow destination: a buffer a pending write holds is never read into', async () => {
    const payload = randomBytes(48 * MiB);
    const { socket, reads, dst } = await sending(payload, { slow: true });
    // A destination queue far above one read: writes that did not complete at once do not
    // pause the client, so reads go on while earlier writes still point into their buffers.
    await relayTo(dst.port, socket, reads, 8 * MiB);
    const got = await dst.done;
    expect(got.sha).toBe(sha256(payload));
    expect(reads.buffersUsed).toBeGreaterThan(1);
  });

  it("keeps the server's connection count right: the accepted socket it counted is replaced", async () => {
    const listener = await adoptingListener();
    const c = await world.connect(listener.port);
    const { socket } = await listener.next();
    const count = (): Promise<number> =>
      new Promise((resolve, reject) =>
        listener.server.getConnections((e, n) => (e ? reject(e) : resolve(n))),
      );
    await waitUntil(async () => (await count()) === 0);
    // The adopted socket still works both ways.
    socket.socket.write('ping');
    const [got] = (await once(c, 'data')) as [Buffer];
    expect(got.toString()).toBe('ping');
    const closed = once(listener.server, 'close');
    listener.server.close();
    await closed; // close() does not wait for the replaced socket
  });

  it('hands reads before attach to the early reader as copies that later reads do not overwrite', async () => {
    const listener = await adoptingListener();
    const c = await world.connect(listener.port);
    const { socket, reads } = await listener.next();
    const seen: Buffer[] = [];
    reads.onEarly((chunk) => {
      seen.push(chunk);
      return true;
    });
    const parts = [randomBytes(700), randomBytes(1500), randomBytes(90)];
    let sent = 0;
    for (const p of parts) {
      c.write(p);
      sent += p.length;
      // One read per part: each would go into the same reused buffer.
      await waitUntil(() => seen.reduce((n, b) => n + b.length, 0) === sent);
    }
    expect(socket.socket.bytesRead).toBe(sent);
    expect(Buffer.concat(seen).equals(Buffer.concat(parts))).toBe(true);
  });

  it('keeps at most EARLY_KEEP_BYTES before attach, then pauses; all of it arrives once attached', async () => {
    const payload = randomBytes(4 * MiB);
    const { socket, reads, dst } = await sending(payload);
    await new Promise((r) => setTimeout(r, 100));
    // Reading stopped near the bound (one read can overshoot it by at most a buffer).
    expect(socket.socket.bytesRead).toBeGreaterThanOrEqual(EARLY_KEEP_BYTES);
    expect(socket.socket.bytesRead).toBeLessThan(EARLY_KEEP_BYTES + 64 * 1024);
    await relayTo(dst.port, socket, reads);
    expect((await dst.done).sha).toBe(sha256(payload));
  });

  it('sees a reset while it keeps bytes before attach (the dial is still under way)', async () => {
    const listener = await adoptingListener();
    const c = await world.connect(listener.port);
    c.on('error', () => {});
    c.write(randomBytes(300));
    const { socket } = await listener.next();
    const errored = once(socket.socket, 'error');
    await waitUntil(() => socket.socket.bytesRead === 300);
    c.resetAndDestroy();
    const [err] = (await errored) as [NodeJS.ErrnoException];
    expect(err.code).toBe('ECONNRESET');
  });

  it("falls back to Node's own chunks with the same result when told to", async () => {
    const payload = randomBytes(8 * MiB);
    const { socket, reads, dst } = await sending(payload, { slow: true, forceFallback: true });
    expect(socket.ownedReads).toBe(false);
    await relayTo(dst.port, socket, reads);
    expect((await dst.done).sha).toBe(sha256(payload));
    expect(reads.buffersUsed).toBe(0);
  });
});
