import type { Clock } from '../../engine/clock.js';
import { MSG } from '../../engine/messages.js';
import { emit, type OutputSink } from '../../engine/output.js';
import { waitFor, type PollResult } from '../../engine/waiter.js';

export interface VisibilityContext {
  readonly sink: OutputSink;
  readonly clock: Clock;
  readonly pollIntervalMs: number;
}

/**
 * Poll until done, saying on each poll what is awaited and the state seen (message WAITING,
 * data `{ state }`), so every wait of every step reports the same way.
 */
export async function waitReporting<T>(
  ctx: VisibilityContext,
  where: { readonly step: string; readonly account: string },
  what: { readonly awaited: string; readonly label: string },
  poll: () => Promise<PollResult<T>>,
  timeoutMs: number,
): Promise<T> {
  return waitFor(what.awaited, poll, {
    clock: ctx.clock,
    timeoutMs,
    intervalMs: ctx.pollIntervalMs,
    onPoll: (state) =>
      emit(ctx.sink, MSG.WAITING, ctx.clock.now(), `${what.label}: ${state}`, { ...where, data: { state } }),
  });
}

/**
 * After a create: wait until the resource shows up the way the next run will look for it
 * (the tag-filtered read of its step). AWS lists a new resource by its tags a while after
 * the create returns; a run cut off in that window would otherwise find nothing and plan
 * a second one.
 */
export async function waitUntilListed(
  ctx: VisibilityContext,
  where: { readonly step: string; readonly account: string },
  what: string,
  listed: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  await waitReporting(
    ctx,
    where,
    { awaited: `${what} to be listed by its tags`, label: what },
    async () =>
      (await listed()) ? { done: true, value: undefined } : { done: false, state: 'not listed by tag yet' },
    timeoutMs,
  );
}
