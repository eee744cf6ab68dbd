/**
 * WireGuard keys with node:crypto: Curve25519 (X25519) key pairs in the exact format of
 * `wg genkey` / `wg pubkey` (the raw 32 bytes, standard base64, 44 characters).
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { EkslinkError } from '../../common/errors.js';
import { WIREGUARD_ERROR_CODES } from './errors.js';

export interface WireguardKeyPair {
  /** Secret: goes into a mode-0600 file and nowhere else (never a log line or stdout). */
  readonly privateKey: string;
  readonly publicKey: string;
}

const KEY_BYTES = 32;
// The DER head of a PKCS#8 X25519 private key; the raw 32-byte scalar follows it. Lets
// node:crypto take a raw key without a JWK "x" it cannot know yet.
const X25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const KEY_SHAPE = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;

/** True when `value` is 32 bytes in standard base64, the only form wg(8) accepts. */
export function isWireguardKey(value: string): boolean {
  return KEY_SHAPE.test(value);
}

/** A fresh key pair, the private key clamped as `wg genkey` clamps it. */
export function generateKeyPair(): WireguardKeyPair {
  const { privateKey } = generateKeyPairSync('x25519');
  const raw = clamp(Buffer.from(jwkField(privateKey, 'd'), 'base64url'));
  const privateKeyBase64 = raw.toString('base64');
  return { privateKey: privateKeyBase64, publicKey: publicKeyFromPrivate(privateKeyBase64) };
}

/** The public key of a private key, as `wg pubkey` prints it. */
export function publicKeyFromPrivate(privateKeyBase64: string): string {
  const raw = decodeKey(privateKeyBase64, 'private key');
  const keyObject = createPrivateKey({
    key: Buffer.concat([X25519_PKCS8_PREFIX, raw]),
    format: 'der',
    type: 'pkcs8',
  });
  return Buffer.from(jwkField(createPublicKey(keyObject), 'x'), 'base64url').toString('base64');
}

/** Decode and check a base64 key; the error never repeats the value (it may be a secret). */
export function decodeKey(value: string, what: string): Buffer {
  if (!isWireguardKey(value)) {
    throw new EkslinkError(
      WIREGUARD_ERROR_CODES.keyInvalid,
      `the ${what} is not a WireGuard key: it must be 32 bytes in base64 (44 characters ending in "="), as \`wg genkey\` or \`ekslink wireguard keygen\` writes it`,
      { source: 'config' },
    );
  }
  const raw = Buffer.from(value, 'base64');
  if (raw.length !== KEY_BYTES)
    throw new Error(`unreachable: a 44-character key decoded to ${raw.length} bytes`);
  return raw;
}

// Curve25519 scalar clamping (RFC 7748 section 5); wg does it at generation time too.
function clamp(raw: Buffer): Buffer {
  const out = Buffer.from(raw);
  out[0] = out[0]! & 248;
  out[31] = (out[31]! & 127) | 64;
  return out;
}

function jwkField(key: KeyObject, field: 'd' | 'x'): string {
  const value = key.export({ format: 'jwk' })[field];
  if (typeof value !== 'string') throw new Error(`unreachable: X25519 JWK has no "${field}"`);
  return value;
}
