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

type Counted = Exclude<Change['action'], 'none'>;
const COUNTED = ['create', 'update', 'replace', 'delete'] as const satisfies readonly Counted[];

/** The one count of changes: per action and in all (`none` is not a change). */
function tally(changes: readonly Change[]): Record<Counted, number> & { readonly total: number } {
  const n = { create: 0, update: 0, replace: 0, delete: 0 };
  for (const c of changes) if (isChange(c)) n[c.action as Counted]++;
  return { ...n, total: n.create + n.update + n.replace + n.delete };
}

function allChanges(reports: readonly StepReport[]): Change[] {
  return reports.flatMap((r) => r.changes);
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

/** Run `one` for each step, strictly in order (each step reads what the earlier ones published). */
async function inOrder<C>(
  steps: readonly AnyStep<C>[],
  one: (step: AnyStep<C>) => Promise<StepReport>,
): Promise<StepReport[]> {
  const reports: StepReport[] = [];
  for (const step of steps) reports.push(await one(step));
  return reports;
}

/** How the runner is called for plan, apply and destroy. */
type RunSteps = <C extends StepContext>(
  steps: readonly AnyStep<C>[],
  ctx: C,
  options: RunOptions,
) => Promise<RunResult>;

/** Read every step and say what apply would do. Changes nothing. */
export const planSteps: RunSteps = async (steps, ctx, options) => {
  const reports = await inOrder(steps, async (step) => {
    const started = options.clock.now();
    const changes = await guarded(step, ctx, options, async () => step.plan(ctx, await step.read(ctx)));
    const report = {
      step: step.id,
      account: step.account,
      title: step.title,
      changes,
      elapsedMs: options.clock.now() - started,
    };
    emit(options.sink, MSG.STEP_PLANNED, options.clock.now(), `${step.id}: ${summarize(changes)}`, {
      step: step.id,
      account: step.account,
      data: { title: step.title, changes },
    });
    return report;
  });
  const { total: changed, ...byAction } = tally(allChanges(reports));
  emit(
    options.sink,
    MSG.PLAN_SUMMARY,
    options.clock.now(),
    changed === 0 ? 'no changes' : `${changed} change(s)`,
    { data: { ...byAction, steps: reports } },
  );
  return { steps: reports, changed };
};

/** Bring every step to its planned state, in order; re-reads each step right before applying it. */
export const applySteps: RunSteps = async (steps, ctx, options) => {
  const reports = await inOrder(steps, (step) =>
    execute(step, ctx, options, step.title, 'up to date', async () => {
      const current = await step.read(ctx);
      const planned = step.plan(ctx, current);
      if (planned.some(isChange)) await step.apply(ctx, current, planned);
      return planned;
    }),
  );
  return { steps: reports, changed: tally(allChanges(reports)).total };
};

/** Delete every step's tagged resources, last step first. Already gone is fine. */
export const destroySteps: RunSteps = async (steps, ctx, options) => {
  const reports = await inOrder([...steps].reverse(), (step) =>
    execute(step, ctx, options, 'destroy', 'nothing to delete', async () =>
      step.destroy(ctx, await step.read(ctx)),
    ),
  );
  const changed = tally(allChanges(reports)).total;
  emit(options.sink, MSG.DESTROY_SUMMARY, options.clock.now(), `${changed} resource(s) deleted`, {
    data: { deleted: changed },
  });
  return { steps: reports, changed };
};

/**
 * One step of apply or destroy: announce it, do the work (guarded: failures become
 * StepFailedError), then emit what changed, or `idleText` when nothing did.
 */
async function execute<C extends StepContext>(
  step: AnyStep<C>,
  ctx: C,
  options: RunOptions,
  startText: string,
  idleText: string,
  work: () => Promise<readonly Change[]>,
): Promise<StepReport> {
  const started = options.clock.now();
  const where = { step: step.id, account: step.account };
  emit(options.sink, MSG.STEP_START, started, `${step.id}: ${startText}`, where);
  const changes = await guarded(step, ctx, options, work);
  const elapsedMs = options.clock.now() - started;
  const changed = changes.some(isChange);
  emit(
    options.sink,
    changed ? MSG.STEP_DONE : MSG.STEP_UNCHANGED,
    options.clock.now(),
    `${step.id}: ${changed ? summarize(changes) : idleText}`,
    { ...where, data: { elapsedMs, changes } },
  );
  return { step: step.id, account: step.account, title: step.title, changes, elapsedMs };
}

/** `2 create, 1 update` or `up to date`. */
export function summarize(changes: readonly Change[]): string {
  const n = tally(changes);
  const parts = COUNTED.filter((k) => n[k] > 0).map((k) => `${n[k]} ${k}`);
  return parts.length === 0 ? 'up to date' : parts.join(', ');
}
