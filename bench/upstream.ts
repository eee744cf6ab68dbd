/**
 * Stand-ins for the EKS API server ENIs. The first byte the client sends after the
 * handshake says what the connection is for:
 * - `R` (rate, latency): answer 1 KiB and close, like one short API request;
 * - `B` (bulk): count every byte after the command until the client half-closes, then
 *   answer with the count and close;
 * - `D` (download): read a byte count ending in a newline, send that many bytes, close;
 * - `E` (keep-alive hop): echo every byte back;
 * - `H` (idle): answer 1 KiB and stay open, idle, until the client closes.
 *
 * Two kinds: `plain` costs almost nothing per connection (it skips the one TLS record that
 * carries the replayed ClientHello, no crypto runs), so the figures are the proxies';
 * `tls` is a real node:tls server with a certificate from the run's CA, so every
 * connection through a proxy carries a real handshake.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { TestPki } from '../standins/pki.js';

export type UpstreamKind = 'plain' | 'tls';
export type Command = 'R' | 'B' | 'D' | 'E' | 'H';

export interface BenchUpstream {
  readonly port: number;
  /** Connections open now. */
  readonly openConnections: number;
  close(): Promise<void>;
}

export const REPLY_BYTES = 1024;
const REPLY = Buffer.alloc(REPLY_BYTES, 0x61);
const RECORD_HEADER = 5;
const HANDSHAKE_TIMEOUT_MS = 10_000;

/** Serves one connection once the bytes before the command (the hello) are out of the way. */
function serve(socket: net.Socket, first: Buffer): void {
  const command = String.fromCharCode(first[0] as number) as Command;
  const rest = first.subarray(1);
  switch (command) {
    case 'R':
      socket.end(REPLY);
      return;
    case 'H':
      socket.write(REPLY);
      socket.on('data', () => {});
      // Half-open is allowed (bulk needs it), so close our side when the client closes its.
      socket.on('end', () => socket.end());
      return;
    case 'E':
      if (rest.length > 0) socket.write(rest);
      socket.on('data', (d: Buffer) => socket.write(d));
      socket.on('end', () => socket.end());
      return;
    case 'B': {
      let count = rest.length;
      socket.on('data', (d: Buffer) => (count += d.length));
      socket.on('end', () => socket.end(`${count}\n`));
      return;
    }
    case 'D': {
      let count = '';
      const onCount = (d: Buffer): void => {
        count += d.toString('latin1');
        if (!count.includes('\n')) return;
        socket.off('data', onCount);
        socket.on('data', () => {});
        sendBytes(socket, Number(count.split('\n')[0]));
      };
      if (rest.length > 0) onCount(rest);
      if (!count.includes('\n')) socket.on('data', onCount);
      socket.on('end', () => {});
      return;
    }
    default:
      socket.destroy();
  }
}

const DOWNLOAD_CHUNK = Buffer.alloc(256 * 1024, 0x64);

/** Writes `total` bytes with backpressure, then half-closes. */
function sendBytes(socket: net.Socket, total: number): void {
  let left = Number.isSafeInteger(total) && total > 0 ? total : 0;
  const pump = (): void => {
    while (left > 0) {
      const n = Math.min(left, DOWNLOAD_CHUNK.length);
      left -= n;
      if (!socket.write(n === DOWNLOAD_CHUNK.length ? DOWNLOAD_CHUNK : DOWNLOAD_CHUNK.subarray(0, n))) {
        socket.once('drain', pump);
        return;
      }
    }
    socket.end();
  };
  pump();
}

/**
 * A client that half-closes before its command (a TCP health probe, an abandoned
 * handshake) gets our side closed too: half-open is allowed for bulk, so nothing else
 * would close it, and an idle peer must leave no connection behind.
 */
function closeIfEndedEarly(socket: net.Socket, commandSeen: () => boolean): void {
  socket.once('end', () => {
    if (!commandSeen()) socket.end();
  });
}

/** Plain: skip the ClientHello record, then the next byte is the command. */
function handlePlain(socket: net.Socket): void {
  let pending: Buffer | undefined;
  let seen = false;
  closeIfEndedEarly(socket, () => seen);
  const onData = (chunk: Buffer) => {
    pending = pending ? Buffer.concat([pending, chunk]) : chunk;
    if (pending.length < RECORD_HEADER) return;
    const helloEnd = RECORD_HEADER + pending.readUInt16BE(3);
    if (pending.length <= helloEnd) return;
    socket.off('data', onData);
    seen = true;
    serve(socket, pending.subarray(helloEnd));
    pending = undefined;
  };
  socket.on('data', onData);
}

/** TLS: the first plaintext byte is the command. */
function handleTls(socket: net.Socket): void {
  let seen = false;
  closeIfEndedEarly(socket, () => seen);
  socket.once('data', (chunk: Buffer) => {
    seen = true;
    serve(socket, chunk);
  });
}

export async function startUpstream(host: string, kind: UpstreamKind, pki: TestPki): Promise<BenchUpstream> {
  const sockets = new Set<net.Socket>();
  const guard = (socket: net.Socket) => socket.on('error', () => socket.destroy());
  const server =
    kind === 'plain'
      ? net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
          guard(socket);
          handlePlain(socket);
        })
      : tls.createServer(
          {
            cert: pki.serverCertPem,
            key: pki.serverKeyPem,
            allowHalfOpen: true,
            noDelay: true,
            // A TCP probe never starts a handshake, and node:tls shows us nothing of it: time it out.
            handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
          },
          (socket) => {
            guard(socket);
            handleTls(socket);
          },
        );
  // Every TCP connection, handshake done or not, so close() can cut them all.
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  // A handshake the client abandons (the idle phase closing, a health probe's bare TCP
  // connect) is not the upstream's failure, but its socket must go: with a listener here
  // node:tls leaves that to us, and ekslink's prober left one CLOSE-WAIT socket every probe,
  // which kept every later settle() waiting its full bound.
  server.on('tlsClientError', (_err, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port: 0, backlog: 4096 }, () => resolve());
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    get openConnections() {
      return sockets.size;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
