/**
 * The two repository artifacts the fleet ships: the esbuild bundle in dist/ (an S3 asset)
 * and the hardened systemd unit from packaging/ (embedded in user data). Both are read at
 * synth time; a missing one fails synth with the command that produces it.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InfraError } from './errors.js';
import { PROXY_CONFIG_PATH } from './proxy-config.js';

/** The repository root (infra/lib/ is two levels down). */
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DEFAULT_BUNDLE_DIR = join(REPO_ROOT, 'dist');
export const DEFAULT_SYSTEMD_UNIT_PATH = join(REPO_ROOT, 'packaging', 'systemd', 'ekslink-proxy.service');
export const BUNDLE_ENTRY = 'ekslink.mjs';

/** Checks that the bundle exists and returns its directory. */
export function requireBundle(dir: string): string {
  const entry = join(dir, BUNDLE_ENTRY);
  if (!existsSync(entry) || !statSync(entry).isFile()) {
    throw new InfraError(
      'EKL_INFRA_BUNDLE_MISSING',
      `the proxy bundle ${entry} does not exist; run \`npm run build\` (it writes dist/${BUNDLE_ENTRY}) and synth again`,
    );
  }
  return dir;
}

/** What user data needs to know about the unit to install the bundle where it expects it. */
export interface ProxyUnit {
  readonly text: string;
  /** Absolute directory the unit runs the bundle from (the `.../ekslink.mjs` in ExecStart). */
  readonly bundleInstallDir: string;
  /** The unit's `User=`, when it names a static account user data must create. */
  readonly user?: string;
  /** The unit's `Group=`, when given with a static user. */
  readonly group?: string;
  /** The unit's `TimeoutStopSec=` in seconds, when given as a plain number. */
  readonly timeoutStopSec?: number;
}

function unitError(path: string, problem: string): InfraError {
  return new InfraError(
    'EKL_INFRA_UNIT_INVALID',
    `systemd unit ${path}: ${problem}; the fleet installs the bundle where ExecStart runs it, e.g. ExecStart=/usr/bin/node /opt/ekslink/dist/${BUNDLE_ENTRY} proxy --config ${PROXY_CONFIG_PATH}`,
  );
}

/** Read the packaging unit and find where it expects the bundle and which user it runs as. */
export function readProxyUnit(path: string): ProxyUnit {
  if (!existsSync(path))
    throw unitError(path, 'is missing (restore packaging/systemd/ekslink-proxy.service)');
  const text = readFileSync(path, 'utf8');
  const setting = (key: string) =>
    text
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.startsWith(`${key}=`))
      .map((l) => l.slice(key.length + 1).trim());
  const execStart = setting('ExecStart').filter((v) => v !== '');
  if (execStart.length !== 1)
    throw unitError(path, `needs exactly one ExecStart= line (found ${execStart.length})`);
  const args = (execStart[0] as string).replace(/^[-@:+!]+/, '').split(/\s+/);
  const bundle = args.find((a) => a.endsWith(`/${BUNDLE_ENTRY}`));
  if (bundle === undefined || !posix.isAbsolute(bundle)) {
    throw unitError(path, `ExecStart does not run an absolute path ending in /${BUNDLE_ENTRY}`);
  }
  if (!args.includes(PROXY_CONFIG_PATH)) {
    throw unitError(path, `ExecStart does not read ${PROXY_CONFIG_PATH}, the file the fleet writes`);
  }
  const user = setting('User')[0];
  const group = setting('Group')[0];
  const dynamic = setting('DynamicUser')[0];
  const stop = setting('TimeoutStopSec')[0];
  return {
    text,
    bundleInstallDir: posix.dirname(bundle),
    ...(user !== undefined && user !== 'root' && dynamic !== 'yes' && dynamic !== 'true'
      ? { user, ...(group !== undefined && group !== 'root' ? { group } : {}) }
      : {}),
    ...(stop !== undefined && /^\d+$/.test(stop) ? { timeoutStopSec: Number(stop) } : {}),
  };
}
