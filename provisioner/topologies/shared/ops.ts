import { AwsCallError } from '../../errors.js';
import type { Clock } from '../../engine/clock.js';
import { MSG } from '../../engine/messages.js';
import { emit, type OutputSink } from '../../engine/output.js';
import type { Change } from '../../engine/step.js';

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
  ctx: { readonly sink: OutputSink; readonly clock: Clock },
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

/** Run a delete; a resource that is already gone counts as deleted. */
export async function ignoreGone(goneCodes: readonly string[], fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof AwsCallError && err.awsCode !== undefined && goneCodes.includes(err.awsCode)) return;
    throw err;
  }
}

/**
 * An error shaped like an SDK service exception, for failures AWS reports inside a 200
 * response (the `Unsuccessful` lists of EC2 batch calls): retry logic and error reporting
 * then see the real AWS code.
 */
export function awsFailure(code: string | undefined, message: string | undefined): Error {
  const err = new Error(message ?? code ?? 'unsuccessful') as Error & { $metadata: object; Code?: string };
  err.name = code ?? 'Unknown';
  err.$metadata = {};
  return err;
}
