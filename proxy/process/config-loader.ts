/**
 * How a serving proxy reads its config file, at start and on SIGHUP: in a short-lived child
 * process, `ekslink proxy --print-config FILE --output json`, which makes every check of
 * `--check-config` and answers the validated config (every default filled in) as JSON.
 *
 * Why a child: the schema library, the YAML parser and the command-line parser are a third
 * of a proxy's JavaScript heap, and every garbage collection walks the whole heap: with them
 * loaded, the same relay spent about half again as much CPU per byte (docs/benchmark.md).
 * The serving process loads only the data path. A child costs one Node start (~0.2 s) per
 * load, off the data path, and leaves nothing behind.
 *
 * Running from source (tests that call runProxy in-process) there is no bundle to run as a
 * child: the file is then read in-process by the same functions.
 */
import { execFile } from 'node:child_process';
import { ConfigError, describeError } from '../../common/errors.js';
import type { ProxyConfig } from '../config/schema.js';
import { bundleFile } from './bundle-file.js';

export type ConfigLoader = (path: string) => Promise<ProxyConfig>;

/** A child that has not answered within this long is killed and the load fails. */
export const CONFIG_CHILD_TIMEOUT_MS = 30_000;
/** A config's JSON is a few KiB; anything near this is not a config. */
const MAX_ANSWER_BYTES = 16 << 20;

/** The loader a serving proxy uses: a child of the bundle's CLI, or in-process from source. */
export function defaultConfigLoader(): ConfigLoader {
  const cli = bundleFile('ekslink.mjs');
  return cli === undefined ? loadConfigInProcess : (path) => loadConfigInChild(cli, path);
}

/** Reads and checks the file in this process (loads the schema and YAML parser here). */
export async function loadConfigInProcess(path: string): Promise<ProxyConfig> {
  const { validatedConfig } = await import('./check-config.js');
  return validatedConfig(path);
}

interface ChildAnswer {
  readonly ok: boolean;
  readonly config?: ProxyConfig;
  readonly error?: { readonly code: string; readonly message: string; readonly problems?: string[] };
}

/** Runs `node CLI proxy --print-config PATH --output json`; throws ConfigError as the in-process load would. */
export function loadConfigInChild(cli: string, path: string): Promise<ProxyConfig> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [cli, 'proxy', '--print-config', path, '--output', 'json'],
      { timeout: CONFIG_CHILD_TIMEOUT_MS, maxBuffer: MAX_ANSWER_BYTES, killSignal: 'SIGKILL' },
      (err, stdout, stderr) => {
        const answer = parseAnswer(stdout);
        if (answer?.ok === true && answer.config !== undefined && err === null) {
          resolve(answer.config);
          return;
        }
        if (answer?.error !== undefined) {
          const { code, message, problems = [] } = answer.error;
          reject(new ConfigError(code === 'EKL_CONFIG_INVALID' ? message : `${code}: ${message}`, problems));
          return;
        }
        const why = err === null ? 'it printed no config' : describeError(err).message;
        const tail = stderr.trim().split('\n').slice(-3).join(' / ');
        reject(
          new ConfigError(
            `could not read ${path}: the config check (${cli} proxy --print-config) failed: ${why}${tail === '' ? '' : `; stderr: ${tail}`}`,
          ),
        );
      },
    );
  });
}

function parseAnswer(stdout: string): ChildAnswer | undefined {
  try {
    const parsed: unknown = JSON.parse(stdout);
    return typeof parsed === 'object' && parsed !== null ? (parsed as ChildAnswer) : undefined;
  } catch {
    return undefined;
  }
}
