/**
 * Stand-ins for the EKS API server ENIs that cost almost nothing per connection, so the
 * benchmark measures the proxies, not TLS. Each reads the one TLS record that carries the
 * ClientHello, then:
 * - `rate`: answers with 1 KiB and closes;
 * - `bulk`: counts every byte after the hello until the client half-closes, then answers
 *   with the count and closes.
 */
import net from 'node:net';

export type UpstreamMode = 'rate' | 'bulk';

export interface BenchUpstream {
  readonly port: number;
  close(): Promise<void>;
}

const REPLY = Buffer.alloc(1024, 0x61);
const RECORD_HEADER = 5;

function handle(socket: net.Socket, mode: UpstreamMode): void {
  let received = 0;
  let helloEnd = -1;
  let header: Buffer | undefined;
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: Buffer) => {
    received += chunk.length;
    if (helloEnd < 0) {
      header = header ? Buffer.concat([header, chunk]) : chunk;
      if (header.length < RECORD_HEADER) return;
      helloEnd = RECORD_HEADER + header.readUInt16BE(3);
      header = undefined;
    }
    if (mode === 'rate' && received >= helloEnd && !socket.writableEnded) socket.end(REPLY);
  });
  socket.on('end', () => {
    if (!socket.writableEnded) socket.end(`${Math.max(0, received - helloEnd)}\n`);
  });
}

export async function startUpstream(host: string, mode: UpstreamMode): Promise<BenchUpstream> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    handle(socket, mode);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port: 0, backlog: 4096 }, () => resolve());
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
