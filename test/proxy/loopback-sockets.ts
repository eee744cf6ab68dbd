/**
 * The real loopback sockets the read-buffer tests (reused-reads, accepted-reads) relay
 * through: listeners, a destination that hashes what it receives (optionally reading slowly,
 * so writes to it do not complete at once), and one cleanup for everything they opened.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import type { ReusedReads } from '../../proxy/connection/reused-reads.js';

export const MiB = 1024 * 1024;
export const HOST = '127.0.0.1';

export interface Received {
  readonly bytes: number;
  readonly sha: string;
}

export function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

export class LoopbackSockets {
  private readonly servers: net.Server[] = [];
  private readonly sockets: net.Socket[] = [];

  /** Destroyed by close(). */
  track<S extends net.Socket>(socket: S): S {
    this.sockets.push(socket);
    return socket;
  }

  /** A listener on HOST (allowHalfOpen, plus `options`); accepted sockets are tracked. */
  async listen(
    onSocket: (s: net.Socket) => void,
    options: net.ServerOpts = {},
  ): Promise<{ server: net.Server; port: number }> {
    const server = net.createServer({ allowHalfOpen: true, ...options }, (s) => onSocket(this.track(s)));
    this.servers.push(server);
    server.listen({ host: HOST, port: 0 });
    await once(server, 'listening');
    return { server, port: (server.address() as net.AddressInfo).port };
  }

  /** A destination that hashes what it receives until FIN; `slow` reads in bursts with pauses between. */
  async sink(slow: boolean): Promise<{ port: number; done: Promise<Received> }> {
    let resolveDone!: (v: Received) => void;
    const done = new Promise<Received>((r) => (resolveDone = r));
    const { port } = await this.listen((s) => {
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

  /** A tracked, connected client socket to HOST:`port` (allowHalfOpen); the options go on to net.connect. */
  async connect(port: number, options: { writableHighWaterMark?: number; onread?: net.OnReadOpts } = {}) {
    // net.Socket passes stream options on to its Duplex (the typings do not list them).
    const s = this.track(
      net.connect({ host: HOST, port, allowHalfOpen: true, ...options } as net.NetConnectOpts),
    );
    await once(s, 'connect');
    return s;
  }

  /** Destroy every tracked socket and close every listener. */
  async close(): Promise<void> {
    for (const s of this.sockets.splice(0)) s.destroy();
    await Promise.all(this.servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  }
}

/**
 * Relay what `src` reads (into `reads`) to `dst` the way the splice does: backpressure
 * pauses `src`, `dst`'s drain resumes it, `src`'s FIN becomes `dst`'s.
 */
export function relayThrough(src: net.Socket, reads: ReusedReads, dst: net.Socket): void {
  reads.attach(dst);
  dst.on('drain', () => src.resume());
  src.on('end', () => dst.end());
  src.resume();
}
