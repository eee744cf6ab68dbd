import type { Clock } from '../../engine/clock.js';
import { MSG } from '../../engine/messages.js';
import { emit, type OutputSink } from '../../engine/output.js';

/** Which of several tagged resources of one kind to keep, and why. */
export interface Choice<T> {
  /** First: the one the step manages. Undefined when there is none. */
  readonly kept: T | undefined;
  /** The rest: duplicates, planned for deletion. */
  readonly extras: readonly T[];
  /** Why `kept` won: `in use (available)`, `oldest`, or `lowest ID`. */
  readonly why: string;
}

export interface ChoiceRules<T> {
  readonly id: (t: T) => string;
  /** Higher is more in use (an available endpoint over a pending one); with its word for messages. */
  readonly inUse?: (t: T) => { readonly score: number; readonly as: string };
  /** Milliseconds since the epoch, when AWS says. */
  readonly created?: (t: T) => number | undefined;
}

/**
 * Keep the one in use, then the oldest, then (AWS gives no creation time for some kinds) the
 * lowest ID: never whichever AWS happened to list first, which can be any of them.
 */
export function chooseKeeper<T>(items: readonly T[], rules: ChoiceRules<T>): Choice<T> {
  if (items.length <= 1) return { kept: items[0], extras: [], why: 'only one' };
  const score = (t: T) => rules.inUse?.(t).score ?? 0;
  const created = (t: T) => rules.created?.(t) ?? Number.POSITIVE_INFINITY;
  const sorted = [...items].sort(
    (a, b) => score(b) - score(a) || created(a) - created(b) || rules.id(a).localeCompare(rules.id(b)),
  );
  const [kept, ...extras] = sorted as [T, ...T[]];
  const second = extras[0]!;
  const why =
    score(kept) > score(second)
      ? `in use (${rules.inUse!(kept).as})`
      : created(kept) < created(second)
        ? 'oldest'
        : 'lowest ID (AWS gives no creation time)';
  return { kept, extras, why };
}

/** Say which duplicate is kept and which are removed; once per read that finds any. */
export function reportDuplicates<T>(
  out: { readonly sink: OutputSink; readonly clock: Clock },
  where: { readonly step: string; readonly account: string; readonly kind: string },
  choice: Choice<T>,
  id: (t: T) => string,
): void {
  if (choice.kept === undefined || choice.extras.length === 0) return;
  const kept = id(choice.kept);
  const removed = choice.extras.map(id);
  emit(
    out.sink,
    MSG.DUPLICATE_RESOURCE,
    out.clock.now(),
    `${removed.length + 1} ${where.kind}s carry this deployment's tags: keeping ${kept} (${choice.why}), deleting ${removed.join(', ')}`,
    { step: where.step, account: where.account, data: { kind: where.kind, kept, removed, why: choice.why } },
  );
}

/** The reason a duplicate's delete shows in plan. */
export function duplicateReason<T>(choice: Choice<T>, id: (t: T) => string): string {
  return `duplicate carrying this deployment's tags; keeping ${choice.kept === undefined ? '(none)' : id(choice.kept)} (${choice.why})`;
}
