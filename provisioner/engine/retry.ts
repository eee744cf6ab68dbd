import { awsErrorCode, awsHttpStatus } from '../errors.js';
import type { Clock } from './clock.js';

/** AWS error codes that mean "slow down": always retried. */
export const THROTTLING_CODES: readonly string[] = [
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'TooManyRequestsException',
  'EC2ThrottledException',
  'PriorRequestNotComplete',
  'SlowDown',
];

/** Server-side hiccups: always retried. */
export const TRANSIENT_CODES: readonly string[] = [
  'InternalError',
  'InternalFailure',
  'ServiceUnavailable',
  'Unavailable',
  'RequestTimeout',
  'RequestTimeoutException',
];

export interface RetryPolicy {
  /** Attempts in all, the first one included. */
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** No new attempt starts after this long since the first one. */
  readonly maxElapsedMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 8,
  baseDelayMs: 400,
  maxDelayMs: 15_000,
  maxElapsedMs: 120_000,
};

export interface RetryInfo {
  readonly attempt: number;
  readonly delayMs: number;
  readonly code: string;
  readonly error: unknown;
}

export interface RetryOptions {
  readonly clock: Clock;
  readonly policy?: RetryPolicy;
  /**
   * Codes retried for this call only: eventual consistency right after a create, e.g.
   * `InvalidVpcEndpointId.NotFound`, or `DependencyViolation` while ENIs drain.
   */
  readonly alsoRetry?: readonly string[];
  /** In [0, 1): jitter source, injectable for deterministic tests. */
  readonly random?: () => number;
  readonly onRetry?: (info: RetryInfo) => void;
}

/** Why an error may be retried: its AWS code, 'network' when AWS never answered, or undefined. */
const NETWORK_ERRORS = ['TimeoutError', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT'];

/**
 * AWS never answered: connection reset, refused, timed out. The SDK still attaches
 * `$metadata` (without an HTTP status) and names the error `TimeoutError` for a socket hang-up.
 */
function isNetworkError(err: unknown): boolean {
  if (!(err instanceof Error) || awsHttpStatus(err) !== undefined) return false;
  return NETWORK_ERRORS.some((c) => c === err.name || c === (err as NodeJS.ErrnoException).code);
}

export function retryableCode(err: unknown, alsoRetry: readonly string[] = []): string | undefined {
  if (isNetworkError(err)) return 'network';
  const code = awsErrorCode(err);
  if (code !== undefined) {
    if (THROTTLING_CODES.includes(code) || TRANSIENT_CODES.includes(code) || alsoRetry.includes(code))
      return code;
    const status = awsHttpStatus(err);
    return status !== undefined && status >= 500 ? code : undefined;
  }
  return undefined;
}

/**
 * True when a failure leaves it unknown whether AWS carried the request out: no answer at
 * all (connection reset, timeout) or a server error. A throttled request was not carried out.
 */
export function isAmbiguousFailure(err: unknown): boolean {
  if (isNetworkError(err)) return true;
  const code = awsErrorCode(err);
  if (code === undefined) return false;
  if (THROTTLING_CODES.includes(code)) return false;
  const status = awsHttpStatus(err);
  return (status !== undefined && status >= 500) || TRANSIENT_CODES.includes(code);
}

/** Delay before attempt `attempt + 1`: exponential, capped, with equal jitter. */
export function backoffDelay(policy: RetryPolicy, attempt: number, random: () => number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}

/** Thrown by withRetry when it stops: the last error and how many attempts were made. */
export class RetryStopped extends Error {
  constructor(
    readonly lastError: unknown,
    readonly attempts: number,
    readonly exhausted: boolean,
  ) {
    super(lastError instanceof Error ? lastError.message : String(lastError));
  }
}

/**
 * Run `op`, retrying retryable failures with backoff until it succeeds or the policy's
 * bound is reached. Always throws RetryStopped on failure, so callers know the attempt count.
 */
export async function withRetry<T>(op: () => Promise<T>, options: RetryOptions): Promise<T> {
  const policy = options.policy ?? DEFAULT_RETRY_POLICY;
  const random = options.random ?? Math.random;
  const started = options.clock.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await op();
    } catch (err) {
      const code = retryableCode(err, options.alsoRetry);
      if (code === undefined) throw new RetryStopped(err, attempt, false);
      const delayMs = backoffDelay(policy, attempt, random);
      const outOfTime = options.clock.now() + delayMs - started > policy.maxElapsedMs;
      if (attempt >= policy.maxAttempts || outOfTime) throw new RetryStopped(err, attempt, true);
      options.onRetry?.({ attempt, delayMs, code, error: err });
      await options.clock.sleep(delayMs);
    }
  }
}
