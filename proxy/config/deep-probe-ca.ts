/**
 * The cluster CA the deep readiness probe verifies the API server with: read when the config
 * is loaded (start, reload, --check-config), so a path that cannot be read is a config error.
 */
import { readFile } from 'node:fs/promises';
import { ConfigError, describeError } from '../../common/errors.js';
import type { ProxyConfig } from './schema.js';

/** The PEM of health.deepProbe.caFile, or undefined when the deep probe has none. */
export async function readDeepProbeCa(config: ProxyConfig): Promise<string | undefined> {
  const { deepProbe } = config.health;
  if (!deepProbe.enabled || deepProbe.caFile === undefined) return undefined;
  try {
    return await readFile(deepProbe.caFile, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `health.deepProbe.caFile ${deepProbe.caFile} cannot be read (${describeError(err).code}); point it at the cluster CA PEM`,
      [],
      { cause: err },
    );
  }
}
