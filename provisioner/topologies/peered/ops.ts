import { AwsCallError } from '../../errors.js';
import { MSG } from '../../engine/messages.js';
import { emit } from '../../engine/output.js';
import type { Change } from '../../engine/step.js';
import type { PeeredContext } from './context.js';

/**
 * One planned change and how to make it. `plan` shows the changes, `apply` runs the same
 * ops, so the two cannot disagree.
 */
export interface Op {
  readonly change: Change;
  readonly run?: () => Promise<void>;
}

/** Run ops in order, reporting each change made. */
export async function runOps(
  ctx: PeeredContext,
  step: string,
  account: string,
  ops: readonly Op[],
): Promise<void> {
  for (const op of ops) {
    if (op.run === undefined || op.change.action === 'none') continue;
    await op.run();
    emit(ctx.sink, MSG.CHANGE_DONE, ctx.clock.now(), `${op.change.action} ${op.change.resource}`, {
      step,
      account,
      data: { ...op.change },
    });
  }
}

/** Run a delete; a resource that is already gone counts as deleted. */
export async function ignoreGone(goneCodes: readonly string[], fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof AwsCallError && err.awsCode !== undefined && goneCodes.includes(err.awsCode)) return;
    throw err;
  }
}
