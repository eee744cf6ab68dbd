import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPki, type TestPki } from '../../standins/pki.js';
import { TestDnsServer } from '../../standins/dns-server.js';
import { closeServer, startProxy, type TestProxy } from './helpers.js';

// This file's loopback block: 127.0.109.0/24.
const EKS = '99998888777766665555444433332222.gr7.ca-central-1.eks.amazonaws.com';
const ENI = '127.0.109.11';
const MiB = 1024 * 1024;
let pki: TestPki;
let dns: TestDnsServer;
let proxy: TestProxy;
let upstream: tls.Server;
/** What the upstream does with each accepted connection; set per test. */
let onUpstream: (socket: tls.TLSSocket) => void = () => {};

beforeAll(async () => {
  pki = await createPki({ dnsNames: [EKS] });
  dns = await TestDnsServer.start({ host: '127.0.109.53' });
  upstream = tls.createServer({ cert: pki.serverCertPem, key: pki.serverKeyPem, allowHalfOpen: true }, (s) =>
    onUpstream(s),
  );
  upstream.listen({ host: ENI, port: 0 });
  await once(upstream, 'listening');
  const port = (upstream.address() as net.AddressInfo).port;
  dns.set(EKS, { a: [ENI] });
  proxy = await startProxy('127.0.109.1', {
    routes: [{ sni: EKS, upstreamPort: port }],
    allowedUpstreamCidrs: ['127.0.109.0/24'],
    dns: { servers: [dns.server] },
  });
});

afterAll(async () => {
  await proxy.close();
  await closeServer(upstream);
  await dns.close();
});

/** Writes `mib` MiB of random bytes with backpressure; resolves with their SHA-256. */
async function sendRandom(socket: tls.TLSSocket, mib: number): Promise<string> {
  const hash = createHash('sha256');
  for (let i = 0; i < mib; i++) {
    const chunk = randomBytes(MiB);
    hash.update(chunk);
    if (!socket.write(chunk)) await once(socket, 'drain');
  }
  return hash.digest('hex');
}

/** Hashes everything until the peer's FIN ('end'); resolves with the digest and the byte count. */
function receiveAll(socket: tls.TLSSocket): Promise<{ digest: string; bytes: number }> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    let bytes = 0;
    socket.on('data', (d: Buffer) => {
      hash.update(d);
      bytes += d.length;
    });
    socket.once('end', () => resolve({ digest: hash.digest('hex'), bytes }));
    socket.once('error', reject);
  });
}

function connectClient(): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    // allowHalfOpen comes from the TCP socket underneath: our FIN must not end the reading side.
    const tcp = net.connect({ host: proxy.host, port: proxy.port, allowHalfOpen: true });
    const s = tls.connect({ socket: tcp, servername: EKS, ca: pki.caCertPem });
    s.once('secureConnect', () => resolve(s));
    s.once('error', reject);
  });
}

describe('integrity', () => {
  it('carries 64 MiB each way unchanged, and the client half-close lets the upstream finish', async () => {
    const upstreamSide = new Promise<{
      received: { digest: string; bytes: number };
      sent: string;
      endBeforeDone: boolean;
    }>((resolve, reject) => {
      onUpstream = (s) => {
        s.on('error', reject);
        const received = receiveAll(s);
        void (async () => {
          // Send a little, then hold the rest until the client has half-closed.
          const first = randomBytes(MiB);
          const hash = createHash('sha256').update(first);
          s.write(first);
          const r = await received;
          let endBeforeDone = true;
          for (let i = 1; i < 64; i++) {
            const chunk = randomBytes(MiB);
            hash.update(chunk);
            if (!s.write(chunk)) await once(s, 'drain');
            if (s.destroyed) endBeforeDone = false;
          }
          s.end();
          resolve({ received: r, sent: hash.digest('hex'), endBeforeDone });
        })();
      };
    });
    const client = await connectClient();
    const clientReceived = receiveAll(client);
    const clientSent = await sendRandom(client, 64);
    client.end(); // half-close: no more from the client, but keep reading
    const up = await upstreamSide;
    const down = await clientReceived;
    expect(up.received).toEqual({ digest: clientSent, bytes: 64 * MiB });
    expect(down).toEqual({ digest: up.sent, bytes: 64 * MiB });
    expect(up.endBeforeDone).toBe(true);
    const line = await proxy.sink.waitFor((l) => l.event === 'connection' && l.reason === 'ok');
    expect(line.bytesFromClient as number).toBeGreaterThan(64 * MiB);
    expect(line.bytesFromUpstream as number).toBeGreaterThan(64 * MiB);
  });

  it('lets the upstream half-close first while the client keeps sending', async () => {
    const upstreamGot = new Promise<{ digest: string; bytes: number }>((resolve, reject) => {
      onUpstream = (s) => {
        s.on('error', reject);
        const received = receiveAll(s);
        s.end(Buffer.from('bye\n')); // upstream is done talking at once
        void received.then(resolve);
      };
    });
    const client = await connectClient();
    const clientReceived = receiveAll(client);
    expect((await clientReceived).bytes).toBe(4); // the upstream's FIN arrived ...
    const sent = await sendRandom(client, 8); // ... and the client can still send
    client.end();
    expect(await upstreamGot).toEqual({ digest: sent, bytes: 8 * MiB });
  });
});
