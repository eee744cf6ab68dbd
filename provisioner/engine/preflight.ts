/**
 * Preflight: before `plan` reads a step (and before `apply` changes anything), check that
 * everything the config references exists in the account and region it is named for, and
 * that the pieces fit together. Every problem is collected and reported at once, each with
 * the config key, the value and the fix, so one run shows all that is wrong and bad input
 * never leaves a half-built deployment behind.
 */
import { ConfigError } from '../../common/errors.js';
import type { Clock } from './clock.js';
import { MSG } from './messages.js';
import { emit, type OutputSink } from './output.js';

/** One thing wrong with the config, found by looking at the accounts. */
export interface PreflightProblem {
  /** Account key the value was looked up in: `provider`. */
  readonly account: string;
  /** Config key path: `provider.subnetIds[1]`. */
  readonly key: string;
  readonly value: string;
  /** What is wrong: `does not exist in account 123456789012 (us-east-1)`. */
  readonly problem: string;
  /** What to do about it, with an example or a command. */
  readonly fix: string;
}

/** `provider.vpcId vpc-123: does not exist ...; fix: ...` */
export function formatProblem(p: PreflightProblem): string {
  return `${p.key} ${p.value}: ${p.problem}; fix: ${p.fix}`;
}

/**
 * Preflight found problems. A ConfigError (bad input: exit code 2) with its own code, so
 * scripts can tell "the config names things that are not there" from a malformed file.
 */
export class PreflightError extends ConfigError {
  override name = 'PreflightError';
  override readonly code = 'EKL_PROVISION_PREFLIGHT';
  readonly found: readonly PreflightProblem[];

  constructor(subject: string, found: readonly PreflightProblem[]) {
    const lines = found.map(formatProblem);
    super(
      `preflight of ${subject} found ${found.length} problem${found.length === 1 ? '' : 's'}; nothing was created or changed:\n  - ${lines.join('\n  - ')}`,
      lines,
    );
    this.found = found;
  }
}

/** Report each problem on the sink, then throw PreflightError if there is any. */
export function reportPreflight(
  subject: string,
  found: readonly PreflightProblem[],
  out: { readonly sink: OutputSink; readonly clock: Clock },
): void {
  for (const p of found) {
    emit(out.sink, MSG.PREFLIGHT_PROBLEM, out.clock.now(), formatProblem(p), {
      account: p.account,
      data: { ...p },
    });
  }
  if (found.length > 0) throw new PreflightError(subject, found);
  emit(
    out.sink,
    MSG.PREFLIGHT_OK,
    out.clock.now(),
    `preflight of ${subject}: every referenced resource exists and fits`,
  );
}
