import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EkslinkError } from '../../common/errors.js';
import {
  decodeKey,
  generateKeyPair,
  isWireguardKey,
  publicKeyFromPrivate,
} from '../../provisioner/wireguard/keys.js';

/** The real `wg pubkey` (wireguard-tools), the reference for the format. */
function wgPubkey(privateKey: string): string {
  return execFileSync('wg', ['pubkey'], { input: `${privateKey}\n`, encoding: 'utf8' }).trim();
}

describe('WireGuard keys', () => {
  it('generates keys in the exact format of wg genkey, clamped, with the public key wg pubkey derives', () => {
    const pair = generateKeyPair();
    expect(pair.privateKey).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(pair.publicKey).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    const raw = Buffer.from(pair.privateKey, 'base64');
    expect(raw).toHaveLength(32);
    expect(raw[0]! & 7).toBe(0);
    expect(raw[31]! & 0xc0).toBe(0x40);
    expect(wgPubkey(pair.privateKey)).toBe(pair.publicKey);
    expect(generateKeyPair().privateKey).not.toBe(pair.privateKey);
  });

  it('derives the same public key as wg pubkey for keys made by wg genkey', () => {
    const fromWg = execFileSync('wg', ['genkey'], { encoding: 'utf8' }).trim();
    expect(publicKeyFromPrivate(fromWg)).toBe(wgPubkey(fromWg));
  });

  it('agrees with wg pubkey on arbitrary 32-byte keys, unclamped ones included', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (bytes) => {
        const key = Buffer.from(bytes).toString('base64');
        expect(publicKeyFromPrivate(key)).toBe(wgPubkey(key));
      }),
      { numRuns: 15 },
    );
  });

  it('rejects anything that is not 32 bytes of base64, without echoing the value', () => {
    const secretish = randomBytes(31).toString('base64');
    for (const bad of [
      '',
      'not a key',
      secretish,
      `${generateKeyPair().publicKey}x`,
      randomBytes(32).toString('hex'),
    ]) {
      expect(isWireguardKey(bad)).toBe(false);
      let caught: unknown;
      try {
        decodeKey(bad, 'private key');
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(EkslinkError);
      expect((caught as EkslinkError).code).toBe('EKL_WG_KEY_INVALID');
      if (bad.length > 0) expect((caught as Error).message).not.toContain(bad);
    }
  });
});
