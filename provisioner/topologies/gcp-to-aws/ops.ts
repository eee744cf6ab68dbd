import { MSG } from '../../engine/messages.js';
import { emit } from '../../engine/output.js';
import type { Change } from '../../engine/step.js';
import type { GcpToAwsContext } from './context.js';

/**
 * One planned change and how to make it. A step derives its ops from the state it read;
 * `plan` shows the changes, `apply` runs the same ops, so the two cannot disagree.
 */
export interface Op {
  readonly change: Change;
  readonly run?: () => Promise<void>;
}

/** Run ops in order, reporting each change made. */
export async function runOps(
  ctx: GcpToAwsContext,
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

export interface AttributeDrift {
  readonly key: string;
  readonly want: string;
  readonly text: string;
}

/** Attributes whose current value differs from the wanted one. */
export function diffAttributes(
  current: Readonly<Record<string, string>>,
  want: Readonly<Record<string, string>>,
): AttributeDrift[] {
  return Object.entries(want)
    .filter(([k, v]) => current[k] !== v)
    .map(([key, value]) => ({ key, want: value, text: `${key} ${current[key] ?? '(unset)'} -> ${value}` }));
}
