/** `ekslink wireguard keygen`: a new key pair, the private half written to a mode-0600 file. */
import { chmod, writeFile } from 'node:fs/promises';
import { EkslinkError } from '../../common/errors.js';
import { WIREGUARD_ERROR_CODES } from './errors.js';
import { generateKeyPair } from './keys.js';

/** Writes the private key (one line, as `wg genkey` does) and returns only the public key. */
export async function writePrivateKeyFile(path: string, options: { force?: boolean } = {}): Promise<string> {
  const pair = generateKeyPair();
  try {
    await writeFile(path, `${pair.privateKey}\n`, { mode: 0o600, flag: options.force ? 'w' : 'wx' });
    await chmod(path, 0o600); // with --force the file may have existed with a wider mode
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    if (code === 'EEXIST') {
      throw new EkslinkError(
        WIREGUARD_ERROR_CODES.keyFileExists,
        `${path} already exists; replacing a live key cuts the tunnel. Pass --force to replace it, or choose another path`,
        { source: 'usage' },
      );
    }
    throw new EkslinkError(WIREGUARD_ERROR_CODES.writeFailed, `cannot write ${path} (${code})`, {
      cause: err,
      source: 'config',
    });
  }
  return pair.publicKey;
}
