/**
 * The instance kit: the one definition of what a proxy instance is, as one directory the
 * image pipeline bakes into an AMI and the fleet's user data bakes at boot on a stock image.
 * `packaging/instance/ekslink-install` does the work; this module stages it beside the unit,
 * its static files, the bundle and the version, and computes the bundle's hash the same way
 * the script does (the AMI is tagged with it and /etc/ekslink/image-release records it).
 */
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { REPO_ROOT, requireBundle } from './artifacts.js';

export const INSTANCE_KIT_SOURCE = join(REPO_ROOT, 'packaging', 'instance');
export const INSTALL_SCRIPT = 'ekslink-install';
/** Where bake installs the script, so every boot can run `start`. */
export const INSTALLED_SCRIPT = '/usr/local/sbin/ekslink-install';
/** What bake writes: the ekslink version and the bundle hash of this image. */
export const IMAGE_RELEASE_FILE = '/etc/ekslink/image-release';

export interface StagedKit {
  /** The directory to ship (an S3 asset) or run from. */
  readonly dir: string;
  /** The ekslink version (package.json). */
  readonly version: string;
  /** sha256 over the bundle's files, as `ekslink-install` computes it. */
  readonly bundleSha256: string;
}

export function ekslinkVersion(): string {
  return (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(p);
    }
  };
  walk(dir);
  return out;
}

/**
 * `find . -type f | LC_ALL=C sort | xargs sha256sum | sha256sum`: the hash of the manifest
 * of every file's hash and path, so a renamed or added chunk changes it too.
 */
export function bundleSha256(dir: string): string {
  const lines = filesUnder(dir)
    .map((p) => `./${relative(dir, p)}`)
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
    .map(
      (rel) =>
        `${createHash('sha256')
          .update(readFileSync(join(dir, rel)))
          .digest('hex')}  ${rel}\n`,
    );
  return createHash('sha256').update(lines.join('')).digest('hex');
}

/**
 * Stage the kit (script, unit, static files, bundle, VERSION) in a directory named for its
 * content, so repeated synths reuse it and the asset hash follows the content only.
 */
export function stageInstanceKit(o: { bundleDir: string; unitPath: string }): StagedKit {
  const bundleDir = requireBundle(o.bundleDir);
  const version = ekslinkVersion();
  const sha = bundleSha256(bundleDir);
  const content = createHash('sha256')
    .update(sha)
    .update(version)
    .update(readFileSync(o.unitPath))
    .update(bundleSha256(INSTANCE_KIT_SOURCE))
    .digest('hex')
    .slice(0, 16);
  const dir = join(tmpdir(), `ekslink-kit-${content}`);
  if (!existsSync(dir)) {
    const partial = `${dir}.${process.pid}.partial`;
    mkdirSync(partial, { recursive: true });
    cpSync(INSTANCE_KIT_SOURCE, partial, { recursive: true });
    cpSync(o.unitPath, join(partial, 'ekslink-proxy.service'));
    cpSync(bundleDir, join(partial, 'bundle'), { recursive: true });
    writeFileSync(join(partial, 'VERSION'), `${version}\n`);
    try {
      renameSync(partial, dir);
    } catch (err) {
      // Another synth staged the same content first: theirs is identical.
      if (!existsSync(dir)) throw err;
    }
  }
  return { dir, version, bundleSha256: sha };
}
