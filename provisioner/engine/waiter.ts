import { ProvisionError } from '../errors.js';
import type { Clock } from './clock.js';

/** One look at a resource: ready (with its value), or not yet (with the state seen). */
export type PollResult<T> =
  { readonly done: true; readonly value: T } | { readonly done: false; readonly state: string };

export interface WaitOptions {
  readonly clock: Clock;
  /** Give up after this long. */
  readonly timeoutMs: number;
  /** First pause between polls; doubles up to maxIntervalMs. */
  readonly intervalMs: number;
  readonly maxIntervalMs?: number;
  readonly onPoll?: (state: string, elapsedMs: number) => void;
}

/**
 * Poll until `poll` reports done, or throw EKL_PROVISION_WAIT_TIMEOUT naming what was
 * awaited and the last state seen. `poll` throws to stop early on a terminal failure state.
 */
export async function waitFor<T>(
  what: string,
  poll: () => Promise<PollResult<T>>,
  options: WaitOptions,
): Promise<T> {
  const started = options.clock.now();
  let interval = options.intervalMs;
  for (;;) {
    const result = await poll();
    if (result.done) return result.value;
    const elapsed = options.clock.now() - started;
    options.onPoll?.(result.state, elapsed);
    if (elapsed + interval > options.timeoutMs) {
      throw new ProvisionError(
        'EKL_PROVISION_WAIT_TIMEOUT',
        `${what} did not become ready within ${Math.round(options.timeoutMs / 1000)}s (last state: ${result.state}); run apply again to keep waiting`,
        { retryable: true },
      );
    }
    await options.clock.sleep(interval);
    interval = Math.min(interval * 2, options.maxIntervalMs ?? options.intervalMs * 8);
  }
}
