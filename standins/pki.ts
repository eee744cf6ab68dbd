/**
 * A certificate authority made for one run and a server certificate it signs, with
 * @peculiar/x509 over node's WebCrypto (ECDSA P-256): no openssl binary needed.
 */
import { webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
// tsyringe inside @peculiar/x509 needs the Reflect metadata API before it loads.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

export interface TestPki {
  caCertPem: string;
  serverCertPem: string;
  /** PKCS#8 PEM ("BEGIN PRIVATE KEY"). */
  serverKeyPem: string;
}

export interface CreatePkiOptions {
  /** DNS subjectAltNames of the server certificate. */
  dnsNames: string[];
  /** IP subjectAltNames of the server certificate. */
  ipAddresses?: string[];
  /** @default the first DNS name */
  commonName?: string;
  /** @default 7 */
  validDays?: number;
  /**
   * The server certificate's own validity window (the CA keeps its own), e.g. one that
   * ended yesterday for an expired-certificate test.
   * @default the CA's window
   */
  serverValidity?: { notBefore: Date; notAfter: Date };
}

const crypto = webcrypto;
const KEY_ALG: webcrypto.EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
const SIGN_ALG: webcrypto.EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };
const DAY_MS = 86_400_000;
/** Certificates start a little in the past so a clock a few seconds behind still accepts them. */
const BACKDATE_MS = 5 * 60_000;

export async function createPki(opts: CreatePkiOptions): Promise<TestPki> {
  if (opts.dnsNames.length === 0 && (opts.ipAddresses ?? []).length === 0) {
    throw new TypeError('createPki: give at least one DNS name or IP address for the server certificate');
  }
  for (const ip of opts.ipAddresses ?? []) {
    if (!isIP(ip)) throw new TypeError(`createPki: not an IP address: ${ip}`);
  }
  const validDays = opts.validDays ?? 7;
  const notBefore = new Date(Date.now() - BACKDATE_MS);
  const notAfter = new Date(Date.now() + validDays * DAY_MS);

  const caKeys = await generateKeys();
  const ca = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: randomSerial(),
      name: `CN=ekslink test CA ${new Date().toISOString()}`,
      notBefore,
      notAfter,
      signingAlgorithm: SIGN_ALG,
      keys: caKeys,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey, false, crypto),
      ],
    },
    crypto,
  );

  const serverKeys = await generateKeys();
  const commonName = opts.commonName ?? opts.dnsNames[0] ?? opts.ipAddresses?.[0] ?? 'server';
  const server = await x509.X509CertificateGenerator.create(
    {
      serialNumber: randomSerial(),
      subject: `CN=${commonName}`,
      issuer: ca.subject,
      notBefore: opts.serverValidity?.notBefore ?? notBefore,
      notAfter: opts.serverValidity?.notAfter ?? notAfter,
      signingAlgorithm: SIGN_ALG,
      publicKey: serverKeys.publicKey,
      signingKey: caKeys.privateKey,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
        new x509.SubjectAlternativeNameExtension([
          ...opts.dnsNames.map((value) => ({ type: 'dns' as const, value })),
          ...(opts.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
        ]),
        await x509.SubjectKeyIdentifierExtension.create(serverKeys.publicKey, false, crypto),
        await x509.AuthorityKeyIdentifierExtension.create(ca, false, crypto),
      ],
    },
    crypto,
  );

  const pkcs8 = await crypto.subtle.exportKey('pkcs8', serverKeys.privateKey);
  return {
    caCertPem: ca.toString('pem'),
    serverCertPem: server.toString('pem'),
    serverKeyPem: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY'),
  };
}

async function generateKeys(): Promise<webcrypto.CryptoKeyPair> {
  return (await crypto.subtle.generateKey(KEY_ALG, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
}

/** 16 random bytes with the top bit clear: a positive serial, as RFC 5280 requires. */
function randomSerial(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = bytes[0]! & 0x7f;
  return Buffer.from(bytes).toString('hex');
}
