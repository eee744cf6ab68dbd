/**
 * `ekslink wireguard render`: pick the keys for both ends, render the three files and write
 * them to --out-dir. Re-rendering into the same directory keeps the keys already there, so
 * changing, say, the endpoint addresses does not cut the tunnel; --rotate-keys makes new ones.
 */
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { EkslinkError } from '../../common/errors.js';
import type { WireguardConfig } from './config.js';
import { WIREGUARD_ERROR_CODES } from './errors.js';
import { generateKeyPair, isWireguardKey, publicKeyFromPrivate } from './keys.js';
import { renderAwsNftables, renderAwsSide } from './render-aws-side.js';
import { renderGcpSide } from './render-gcp-side.js';
import type { RenderKeys, SideKey } from './side-keys.js';

export type Side = 'gcp' | 'aws';

/** Where a side's key came from, for the summary the CLI prints (never the key itself). */
export type KeySource = 'generated' | 'kept' | 'host-file';

export interface RenderedFile {
  /** Relative to --out-dir. */
  readonly path: string;
  readonly contents: string;
  /** Configs hold private keys: 0600. The rules file holds none. */
  readonly mode: number;
}

export interface RenderResult {
  readonly files: readonly RenderedFile[];
  readonly publicKeys: Readonly<Record<Side, string>>;
  readonly keySources: Readonly<Record<Side, KeySource>>;
}

/** Paths of the rendered files inside --out-dir. */
export function bundlePaths(config: WireguardConfig): { gcpConf: string; awsConf: string; awsNft: string } {
  return {
    gcpConf: join('gcp', `${config.gcp.interfaceName}.conf`),
    awsConf: join('aws', `${config.aws.interfaceName}.conf`),
    awsNft: join('aws', `${config.aws.interfaceName}.nft`),
  };
}

/** Render both ends, choosing keys as described above. Reads --out-dir; writes nothing. */
export async function renderBundle(
  config: WireguardConfig,
  outDir: string,
  options: { rotateKeys?: boolean } = {},
): Promise<RenderResult> {
  const paths = bundlePaths(config);
  const gcp = await chooseKey(config.gcp, join(outDir, paths.gcpConf), options.rotateKeys ?? false);
  const aws = await chooseKey(config.aws, join(outDir, paths.awsConf), options.rotateKeys ?? false);
  const keys: RenderKeys = { gcp: gcp.key, aws: aws.key };
  return {
    files: [
      { path: paths.gcpConf, contents: renderGcpSide(config, keys), mode: 0o600 },
      { path: paths.awsConf, contents: renderAwsSide(config, keys), mode: 0o600 },
      { path: paths.awsNft, contents: renderAwsNftables(config), mode: 0o644 },
    ],
    publicKeys: { gcp: gcp.key.publicKey, aws: aws.key.publicKey },
    keySources: { gcp: gcp.source, aws: aws.source },
  };
}

/**
 * Write each file through a temporary file created with its final mode, then rename: a
 * private key is never readable by others, not even for a moment, and a crash leaves the
 * old file whole.
 */
export async function writeBundle(outDir: string, files: readonly RenderedFile[]): Promise<string[]> {
  const written: string[] = [];
  for (const file of files) {
    const target = join(outDir, file.path);
    const temp = `${target}.tmp-${process.pid}`;
    try {
      await mkdir(dirname(target), { recursive: true, mode: 0o700 });
      await writeFile(temp, file.contents, { mode: file.mode, flag: 'wx' });
      await chmod(temp, file.mode); // the umask may have narrowed or the flag ignored it
      await rename(temp, target);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
      throw new EkslinkError(
        WIREGUARD_ERROR_CODES.writeFailed,
        `cannot write ${target} (${code}); check --out-dir exists and is writable`,
        { cause: err, source: 'config' },
      );
    }
    written.push(target);
  }
  return written;
}

async function chooseKey(
  side: { publicKey?: string | undefined; privateKeyFile?: string | undefined },
  existingConf: string,
  rotate: boolean,
): Promise<{ key: SideKey; source: KeySource }> {
  if (side.publicKey !== undefined && side.privateKeyFile !== undefined) {
    return {
      key: { kind: 'file', publicKey: side.publicKey, privateKeyFile: side.privateKeyFile },
      source: 'host-file',
    };
  }
  const kept = rotate ? undefined : await readRenderedPrivateKey(existingConf);
  if (kept !== undefined) {
    return {
      key: { kind: 'inline', privateKey: kept, publicKey: publicKeyFromPrivate(kept) },
      source: 'kept',
    };
  }
  return { key: { kind: 'inline', ...generateKeyPair() }, source: 'generated' };
}

/** The PrivateKey of a config rendered earlier, or undefined when there is none yet. */
async function readRenderedPrivateKey(path: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new EkslinkError(
      WIREGUARD_ERROR_CODES.existingConfigUnusable,
      `cannot read the earlier render ${path} (${(err as NodeJS.ErrnoException).code ?? 'EIO'}) to keep its key; fix its permissions or pass --rotate-keys`,
      { cause: err, source: 'config' },
    );
  }
  const match = /^\s*PrivateKey\s*=\s*(\S+)\s*$/m.exec(text);
  if (match === null || !isWireguardKey(match[1]!)) {
    throw new EkslinkError(
      WIREGUARD_ERROR_CODES.existingConfigUnusable,
      `${path} exists but holds no valid PrivateKey line, so its key cannot be kept; pass --rotate-keys to make new keys (redeploy both ends), or remove the file`,
      { source: 'config' },
    );
  }
  return match[1];
}
