import { StepFailedError } from '../errors.js';
import type { Clock } from './clock.js';
import { MSG } from './messages.js';
import { emit, type OutputSink } from './output.js';
import { isChange, type Change, type Step, type StepContext } from './step.js';

export interface RunOptions {
  readonly sink: OutputSink;
  readonly clock: Clock;
}

export interface StepReport {
  readonly step: string;
  readonly account: string;
  readonly title: string;
  readonly changes: readonly Change[];
  readonly elapsedMs: number;
}

export interface RunResult {
  readonly steps: readonly StepReport[];
  /** Number of create/update/replace/delete changes planned or made. */
  readonly changed: number;
}

type AnyStep<C> = Step<C, unknown>;

function counts(reports: readonly StepReport[]): Record<'create' | 'update' | 'replace' | 'delete', number> {
  const out = { create: 0, update: 0, replace: 0, delete: 0 };
  for (const r of reports) for (const c of r.changes) if (c.action !== 'none') out[c.action]++;
  return out;
}

function changedCount(reports: readonly StepReport[]): number {
  return reports.reduce((n, r) => n + r.changes.filter(isChange).length, 0);
}

/** Run `fn` for a step; wrap any failure in StepFailedError and report it. */
async function guarded<C extends StepContext, T>(
  step: AnyStep<C>,
  ctx: C,
  options: RunOptions,
  fn: () => Promise<T>,
): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const failure =
      err instanceof StepFailedError
        ? err
        : new StepFailedError(
            { step: step.id, account: step.account, accountId: ctx.accountId(step.account) },
            err,
          );
    emit(options.sink, MSG.STEP_FAILED, options.clock.now(), failure.message, {
      step: step.id,
      account: step.account,
      data: { code: failure.code, awsCode: failure.awsCode, resource: failure.site.resource },
    });
    throw failure;
  }
}

/** Read every step and say what apply would do. Changes nothing. */
export async function planSteps<C extends StepContext>(
  steps: readonly AnyStep<C>[],
  ctx: C,
  options: RunOptions,
): Promise<RunResult> {
  const reports: StepReport[] = [];
  for (const step of steps) {
    const started = options.clock.now();
    const changes = await guarded(step, ctx, options, async () => step.plan(ctx, await step.read(ctx)));
    const report = {
      step: step.id,
      account: step.account,
      title: step.title,
      changes,
      elapsedMs: options.clock.now() - started,
    };
    reports.push(report);
    emit(options.sink, MSG.STEP_PLANNED, options.clock.now(), `${step.id}: ${summarize(changes)}`, {
      step: step.id,
      account: step.account,
      data: { title: step.title, changes },
    });
  }
  const changed = changedCount(reports);
  emit(
    options.sink,
    MSG.PLAN_SUMMARY,
    options.clock.now(),
    changed === 0 ? 'no changes' : `${changed} change(s)`,
    {
      data: { ...counts(reports), steps: reports },
    },
  );
  return { steps: reports, changed };
}

/** Bring every step to its planned state, in order; re-reads each step right before applying it. */
export async function applySteps<C extends StepContext>(
  steps: readonly AnyStep<C>[],
  ctx: C,
  options: RunOptions,
): Promise<RunResult> {
  const reports: StepReport[] = [];
  for (const step of steps) {
    const started = options.clock.now();
    emit(options.sink, MSG.STEP_START, started, `${step.id}: ${step.title}`, {
      step: step.id,
      account: step.account,
    });
    const changes = await guarded(step, ctx, options, async () => {
      const current = await step.read(ctx);
      const planned = step.plan(ctx, current);
      if (planned.some(isChange)) await step.apply(ctx, current, planned);
      return planned;
    });
    const elapsedMs = options.clock.now() - started;
    reports.push({ step: step.id, account: step.account, title: step.title, changes, elapsedMs });
    const spec = changes.some(isChange) ? MSG.STEP_DONE : MSG.STEP_UNCHANGED;
    emit(options.sink, spec, options.clock.now(), `${step.id}: ${summarize(changes)}`, {
      step: step.id,
      account: step.account,
      data: { elapsedMs, changes },
    });
  }
  return { steps: reports, changed: changedCount(reports) };
}

/** Delete every step's tagged resources, last step first. Already gone is fine. */
export async function destroySteps<C extends StepContext>(
  steps: readonly AnyStep<C>[],
  ctx: C,
  options: RunOptions,
): Promise<RunResult> {
  const reports: StepReport[] = [];
  for (const step of [...steps].reverse()) {
    const started = options.clock.now();
    emit(options.sink, MSG.STEP_START, started, `${step.id}: destroy`, {
      step: step.id,
      account: step.account,
    });
    const changes = await guarded(step, ctx, options, async () => step.destroy(ctx, await step.read(ctx)));
    const elapsedMs = options.clock.now() - started;
    reports.push({ step: step.id, account: step.account, title: step.title, changes, elapsedMs });
    const spec = changes.some(isChange) ? MSG.STEP_DONE : MSG.STEP_UNCHANGED;
    emit(
      options.sink,
      spec,
      options.clock.now(),
      `${step.id}: ${changes.some(isChange) ? summarize(changes) : 'nothing to delete'}`,
      {
        step: step.id,
        account: step.account,
        data: { elapsedMs, changes },
      },
    );
  }
  const changed = changedCount(reports);
  emit(options.sink, MSG.DESTROY_SUMMARY, options.clock.now(), `${changed} resource(s) deleted`, {
    data: { deleted: changed },
  });
  return { steps: reports, changed };
}

/** `2 create, 1 update` or `up to date`. */
export function summarize(changes: readonly Change[]): string {
  const n = { create: 0, update: 0, replace: 0, delete: 0 };
  for (const c of changes) if (c.action !== 'none') n[c.action]++;
  const parts = (['create', 'update', 'replace', 'delete'] as const)
    .filter((k) => n[k] > 0)
    .map((k) => `${n[k]} ${k}`);
  return parts.length === 0 ? 'up to date' : parts.join(', ');
}
