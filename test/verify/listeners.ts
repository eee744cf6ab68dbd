/** Real loopback listeners, one per failure mode `ekslink verify` must name. */
import { once } from 'node:events';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { TestPki } from '../../standins/pki.js';

/** A TLS alert record: fatal (2), unrecognized_name (112), as the ekslink proxy sends on a refused SNI. */
export const UNRECOGNIZED_NAME_ALERT = Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x70]);

export interface Listener {
  readonly port: number;
  close(): Promise<void>;
}

function track(server: Server | HttpsServer): Set<Socket> {
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  return sockets;
}

async function listen(server: Server | HttpsServer, host: string): Promise<Listener> {
  const sockets = track(server);
  server.listen(0, host);
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A loopback port nothing listens on: bound, then closed. */
export async function closedPort(host = '127.0.0.1'): Promise<number> {
  const l = await listen(createServer(), host);
  await l.close();
  return l.port;
}

/** Answers the first bytes (the ClientHello) with an unrecognized_name alert, then closes. */
export function alertListener(host = '127.0.0.1'): Promise<Listener> {
  return listen(
    createServer((s) => {
      s.on('error', () => undefined);
      s.once('data', () => s.end(UNRECOGNIZED_NAME_ALERT));
    }),
    host,
  );
}

/** Accepts TCP and closes at once on the first bytes (a proxy that refuses before TLS). */
export function resetListener(host = '127.0.0.1'): Promise<Listener> {
  return listen(
    createServer((s) => {
      s.on('error', () => undefined);
      s.once('data', () => s.resetAndDestroy());
    }),
    host,
  );
}

/** Accepts TCP and ends it cleanly (FIN, no reset) on the first bytes. */
export function finListener(host = '127.0.0.1'): Promise<Listener> {
  return listen(
    createServer((s) => {
      s.on('error', () => undefined);
      s.once('data', () => s.end());
    }),
    host,
  );
}

/** Accepts TCP and never answers (a proxy stuck dialing its upstream). */
export function silentListener(host = '127.0.0.1'): Promise<Listener> {
  return listen(
    createServer((s) => s.on('error', () => undefined)),
    host,
  );
}

/** Plain HTTP on the port (not TLS). */
export function plainHttpListener(host = '127.0.0.1'): Promise<Listener> {
  return listen(
    createServer((s) => {
      s.on('error', () => undefined);
      s.once('data', () => s.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n'));
    }),
    host,
  );
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** An HTTPS server with the PKI's server certificate and the given handler. */
export function httpsListener(pki: TestPki, handler: Handler, host = '127.0.0.1'): Promise<Listener> {
  return listen(createHttpsServer({ cert: pki.serverCertPem, key: pki.serverKeyPem }, handler), host);
}

/** Answers like kube-apiserver: /version JSON, /readyz ok; `status` overrides per path. */
export function apiserverHandler(status: Partial<Record<'/version' | '/readyz', number>> = {}): Handler {
  return (req, res) => {
    const path = req.url as '/version' | '/readyz';
    const code = status[path] ?? 200;
    if (code !== 200) {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          kind: 'Status',
          apiVersion: 'v1',
          status: 'Failure',
          message: `test says ${code}`,
          code,
        }),
      );
      return;
    }
    if (path === '/version') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ major: '1', minor: '31', gitVersion: 'v1.31.9-test' }));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok');
  };
}
