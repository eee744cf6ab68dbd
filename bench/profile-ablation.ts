/**
 * EKL_CONFIG of `npm run bench:profile`: top-level keys of the proxy's config that replace
 * the profile's own, to measure what a setting costs (an ablation), e.g.
 * EKL_CONFIG='{"dns":{"shareWindowMs":0}}'. The proxy validates the keys themselves; this
 * only refuses what the profile cannot run with.
 */

const SHAPE = 'must be a JSON object of top-level config keys, e.g. {"dns":{"shareWindowMs":0}}';
/** Levels at which the proxy still logs its `listening` line, which the profile reads the port from. */
const LISTENING_LEVELS: ReadonlySet<string> = new Set(['info', 'debug', 'trace']);

/** EKL_CONFIG's keys (none when unset); throws an Error naming the problem and the value. */
export function parseAblation(text: string | undefined): Record<string, unknown> {
  const refuse = (problem: string): never => {
    throw new Error(`EKL_CONFIG ${problem} (got ${JSON.stringify(text)})`);
  };
  if (text === undefined || text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return refuse(SHAPE);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return refuse(SHAPE);
  const level = (value as { log?: { level?: unknown } }).log?.level;
  if (level !== undefined && !LISTENING_LEVELS.has(String(level))) {
    refuse(`sets log.level ${String(level)}: bench:profile reads the proxy's port from its info line`);
  }
  return value as Record<string, unknown>;
}
