/**
 * The one error hierarchy of ekslink. Every error carries a stable `code` (listed in
 * docs/errors.md), where the failure came from, and whether retrying may help.
 * Close reasons and metric labels are drawn from the same closed sets.
 */

/** Where a failure originated, in the sense of pingora's ErrorSource. */
export type ErrorSource = 'downstream' | 'upstream' | 'internal' | 'config' | 'aws' | 'usage';

export interface EkslinkErrorOptions {
  readonly cause?: unknown;
  readonly source?: ErrorSource;
  readonly retryable?: boolean;
}

export class EkslinkError extends Error {
  override name = 'EkslinkError';
  readonly code: string;
  readonly source: ErrorSource;
  readonly retryable: boolean;

  constructor(code: string, message: string, options: EkslinkErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.source = options.source ?? 'internal';
    this.retryable = options.retryable ?? false;
  }
}

/** A config file or CLI flag is wrong. The message names the key, the value, what is allowed and a fix. */
export class ConfigError extends EkslinkError {
  override name = 'ConfigError';
  /** One line per problem found, already formatted for a person. */
  readonly problems: readonly string[];

  constructor(message: string, problems: readonly string[] = [], options: EkslinkErrorOptions = {}) {
    super('EKL_CONFIG_INVALID', message, { source: 'config', ...options });
    this.problems = problems;
  }
}

/** Command-line usage error (unknown flag combination and the like). */
export class UsageError extends EkslinkError {
  override name = 'UsageError';
  constructor(message: string, options: EkslinkErrorOptions = {}) {
    super('EKL_USAGE', message, { source: 'usage', ...options });
  }
}

export function isEkslinkError(value: unknown): value is EkslinkError {
  return value instanceof EkslinkError;
}

/** A short description of any thrown value, for logs: never includes payload. */
export function describeError(err: unknown): { code: string; message: string } {
  if (err instanceof EkslinkError) return { code: err.code, message: err.message };
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return { code: typeof code === 'string' ? code : err.name, message: err.message };
  }
  return { code: 'UNKNOWN', message: String(err) };
}
