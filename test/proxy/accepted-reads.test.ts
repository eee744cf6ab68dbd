/**
 * adopt (proxy/connection/accepted-reads.ts) on real sockets: a socket accepted by a
 * pauseOnConnect server moves to one that reads into a ReusedReads, relayed to a real
 * destination connection the way the splice does it. Bytes must arrive unchanged to a
 * destination that keeps up (one buffer, reused) and to a slow one (a buffer a pending write
 * holds is never read into again); the server's connection count stays right; reads before
 * attach reach the early reader as copies of their own; a reset is seen while bytes are
 * kept; the fallback (Node's own chunks) relays the same bytes.
 */
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { adopt, type AdoptedSocket } from '../../proxy/connection/accepted-reads.js';
import { EARLY_KEEP_BYTES, ReusedReads } from '../../proxy/connection/reused-reads.js';

const MiB = 1024 * 1024;
const HOST = '127.0.0.1';
const servers: net.Server[] = [];
const sockets: net.Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function listen(
  onSocket: (s: net.Socket) => void,
  options: net.ServerOpts = {},
): Promise<{ server: net.Server; port: number }> {
  const server = net.createServer({ allowHalfOpen: true, ...options }, (s) => {
    sockets.push(s);
    onSocket(s);
  });
  servers.push(server);
  server.listen({ host: HOST, port: 0 });
  await once(server, 'listening');
  return { server, port: (server.address() as net.AddressInfo).port };
}

/** A destination that hashes what it receives; `slow` reads in bursts with pauses between. */
async function sink(slow: boolean): Promise<{ port: number; done: Promise<{ bytes: number; sha: string }> }> {
  let resolveDone!: (v: { bytes: number; sha: string }) => void;
  const done = new Promise<{ bytes: number; sha: string }>((r) => (resolveDone = r));
  const { port } = await listen((s) => {
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

/** A pauseOnConnect listener whose accepted sockets are adopted with a ReusedReads each. */
async function adoptingListener(forceFallback = false) {
  const adopted: { socket: AdoptedSocket; reads: ReusedReads }[] = [];
  const waiters: (() => void)[] = [];
  const { server, port } = await listen(
    (s) => {
      const reads = new ReusedReads();
      const socket = adopt(s, reads, { allowHalfOpen: true, noDelay: true, forceFallback });
      sockets.push(socket.socket);
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

/** Relay the adopted socket's reads into a connection to `dstPort` (as the splice does). */
async function relayTo(
  dstPort: number,
  { socket }: AdoptedSocket,
  reads: ReusedReads,
  highWaterMark = 16 * 1024,
) {
  const dst = net.connect({
    host: HOST,
    port: dstPort,
    allowHalfOpen: true,
    writableHighWaterMark: highWaterMark,
  } as net.NetConnectOpts);
  sockets.push(dst);
  await once(dst, 'connect');
  reads.attach(dst);
  dst.on('drain', () => socket.resume());
  socket.on('end', () => dst.end());
  socket.resume();
  return dst;
}

function sha(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

async function send(port: number, payload: Buffer): Promise<net.Socket> {
  const c = net.connect({ host: HOST, port, allowHalfOpen: true });
  sockets.push(c);
  await once(c, 'connect');
  c.end(payload);
  return c;
}

describe('adopt', () => {
  it('relays 48 MiB unchanged from an accepted socket to a destination that keeps up, reusing its buffer', async () => {
    const payload = randomBytes(48 * MiB);
    const listener = await adoptingListener();
    const dst = await sink(false);
    await send(listener.port, payload);
    const { socket, reads } = await listener.next();
    expect(socket.ownedReads).toBe(true);
    await relayTo(dst.port, socket, reads);
    const got = await dst.done;
    expect(got.bytes).toBe(payload.length);
    expect(got.sha).toBe(sha(payload));
    // Node would have allocated one buffer per read (at least 48 MiB / 64 KiB = 768).
    expect(reads.buffersUsed).toBeLessThan(768);
    expect(socket.socket.bytesRead).toBe(payload.length);
  });

  it('relays 48 MiB unchanged to a slow destination: a buffer a pending write holds is never read into', async () => {
    const payload = randomBytes(48 * MiB);
    const listener = await adoptingListener();
    const dst = await sink(true);
    await send(listener.port, payload);
    const { socket, reads } = await listener.next();
    // A destination queue far above one read: writes that did not complete at once do not
    // pause the client, so reads go on while earlier writes still point into their buffers.
    await relayTo(dst.port, socket, reads, 8 * MiB);
    const got = await dst.done;
    expect(got.sha).toBe(sha(payload));
    expect(reads.buffersUsed).toBeGreaterThan(1);
  });

  it("keeps the server's connection count right: the accepted socket it counted is replaced", async () => {
    const listener = await adoptingListener();
    const c = net.connect({ host: HOST, port: listener.port });
    sockets.push(c);
    await once(c, 'connect');
    const { socket } = await listener.next();
    const count = (): Promise<number> =>
      new Promise((resolve, reject) =>
        listener.server.getConnections((e, n) => (e ? reject(e) : resolve(n))),
      );
    await waitFor(async () => (await count()) === 0);
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
    const c = net.connect({ host: HOST, port: listener.port });
    sockets.push(c);
    await once(c, 'connect');
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
      await waitFor(() => seen.reduce((n, b) => n + b.length, 0) === sent);
    }
    expect(socket.socket.bytesRead).toBe(sent);
    expect(Buffer.concat(seen).equals(Buffer.concat(parts))).toBe(true);
  });

  it('keeps at most EARLY_KEEP_BYTES before attach, then pauses; all of it arrives once attached', async () => {
    const payload = randomBytes(4 * MiB);
    const listener = await adoptingListener();
    const dst = await sink(false);
    await send(listener.port, payload);
    const { socket, reads } = await listener.next();
    await new Promise((r) => setTimeout(r, 100));
    // Reading stopped near the bound (one read can overshoot it by at most a buffer).
    expect(socket.socket.bytesRead).toBeGreaterThanOrEqual(EARLY_KEEP_BYTES);
    expect(socket.socket.bytesRead).toBeLessThan(EARLY_KEEP_BYTES + 64 * 1024);
    await relayTo(dst.port, socket, reads);
    expect((await dst.done).sha).toBe(sha(payload));
  });

  it('sees a reset while it keeps bytes before attach (the dial is still under way)', async () => {
    const listener = await adoptingListener();
    const c = net.connect({ host: HOST, port: listener.port });
    c.on('error', () => {});
    await once(c, 'connect');
    c.write(randomBytes(300));
    const { socket } = await listener.next();
    const errored = once(socket.socket, 'error');
    await waitFor(() => socket.socket.bytesRead === 300);
    c.resetAndDestroy();
    const [err] = (await errored) as [NodeJS.ErrnoException];
    expect(err.code).toBe('ECONNRESET');
  });

  it("falls back to Node's own chunks with the same result when told to", async () => {
    const payload = randomBytes(8 * MiB);
    const listener = await adoptingListener(true);
    const dst = await sink(true);
    await send(listener.port, payload);
    const { socket, reads } = await listener.next();
    expect(socket.ownedReads).toBe(false);
    await relayTo(dst.port, socket, reads);
    expect((await dst.done).sha).toBe(sha(payload));
    expect(reads.buffersUsed).toBe(0);
  });
});

async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
