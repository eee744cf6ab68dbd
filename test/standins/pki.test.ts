import { X509Certificate } from 'node:crypto';
import tls from 'node:tls';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createPki, type TestPki } from '../../standins/pki.js';

const HOST = '3f1b2c9d0e8a7f6b5c4d3e2f1a0b9c8d.gr7.us-east-1.eks.amazonaws.com';

let servers: tls.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  servers = [];
});

async function serve(pki: TestPki, host = '127.0.20.1'): Promise<number> {
  const server = tls.createServer({ cert: pki.serverCertPem, key: pki.serverKeyPem }, (socket) => {
    socket.end('hello');
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return (server.address() as AddressInfo).port;
}

function handshake(
  port: number,
  opts: tls.ConnectionOptions,
): Promise<{ authorized: boolean; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ port, host: '127.0.20.1', ...opts }, () => {
      let body = '';
      socket.on('data', (d: Buffer) => (body += d.toString()));
      socket.on('end', () => resolve({ authorized: socket.authorized, body }));
    });
    socket.on('error', reject);
  });
}

describe('createPki', () => {
  it('issues a CA and a server certificate that node:tls verifies by hostname', async () => {
    const pki = await createPki({ dnsNames: [HOST], ipAddresses: ['127.0.20.1'] });
    const port = await serve(pki);
    const result = await handshake(port, { ca: pki.caCertPem, servername: HOST });
    expect(result).toEqual({ authorized: true, body: 'hello' });
  });

  it('verifies an IP SAN when no server name is sent', async () => {
    const pki = await createPki({ dnsNames: [HOST], ipAddresses: ['127.0.20.1'] });
    const port = await serve(pki);
    expect((await handshake(port, { ca: pki.caCertPem })).authorized).toBe(true);
  });

  it('is refused for a name not in its SANs and by a client that does not trust the CA', async () => {
    const pki = await createPki({ dnsNames: [HOST] });
    const port = await serve(pki);
    await expect(
      handshake(port, { ca: pki.caCertPem, servername: 'other.example.com' }),
    ).rejects.toMatchObject({
      code: 'ERR_TLS_CERT_ALTNAME_INVALID',
    });
    const stranger = await createPki({ dnsNames: [HOST] });
    await expect(handshake(port, { ca: stranger.caCertPem, servername: HOST })).rejects.toMatchObject({
      code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    });
  });

  it('has the extensions a real chain has: CA constraints, serverAuth EKU, SANs, P-256 keys', async () => {
    const pki = await createPki({
      dnsNames: [HOST, 'kubernetes'],
      ipAddresses: ['127.0.20.1', '::1'],
      validDays: 2,
    });
    const ca = new X509Certificate(pki.caCertPem);
    const leaf = new X509Certificate(pki.serverCertPem);
    expect(ca.ca).toBe(true);
    expect(leaf.ca).toBe(false);
    expect(leaf.checkIssued(ca)).toBe(true);
    expect(leaf.verify(ca.publicKey)).toBe(true);
    expect(leaf.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
    expect(leaf.subjectAltName).toBe(
      `DNS:${HOST}, DNS:kubernetes, IP Address:127.0.20.1, IP Address:0:0:0:0:0:0:0:1`,
    );
    expect(leaf.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(pki.serverKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    const days = (Date.parse(leaf.validTo) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(1.9);
    expect(days).toBeLessThan(2.1);
  });

  it('refuses options that cannot make a usable certificate', async () => {
    await expect(createPki({ dnsNames: [] })).rejects.toThrow(/at least one/);
    await expect(createPki({ dnsNames: [HOST], ipAddresses: ['not-an-ip'] })).rejects.toThrow(/not an IP/);
  });
});
