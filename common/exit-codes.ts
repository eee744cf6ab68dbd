/**
 * The exit codes of every ekslink command. Only the CLI entry point (cli/main.ts) sets the
 * process exit code; docs/errors.md lists these (generated from this file).
 */
import type { EkslinkError } from './errors.js';

export const EXIT = {
  /** The command did what it was asked: a plan printed, every hop passed, a file written. */
  ok: 0,
  /** The check or operation failed: a hop failed, an AWS call failed, the demo saw failures. */
  failed: 1,
  /** Bad usage or bad input: an unknown flag, a missing or bad value, a config file with problems. */
  usage: 2,
} as const;

/** What each exit code means, for docs/errors.md. */
export const EXIT_CODE_DOC: readonly { code: number; meaning: string }[] = [
  {
    code: EXIT.ok,
    meaning: 'success: the command did what it was asked (a plan printed, every hop passed, a file written).',
  },
  {
    code: EXIT.failed,
    meaning:
      'the check or operation failed: a `verify` hop failed, an AWS call or a provisioning step failed, the demo saw failures, a proxy could not start; also an unexpected internal error (`EKL_INTERNAL`).',
  },
  {
    code: EXIT.usage,
    meaning:
      'bad usage or bad input, found before anything was changed: an unknown command or flag, a missing required flag, a value of the wrong kind, a config, outputs or kubeconfig file that is missing or has problems (every problem is listed), a refusal such as `--yes` missing off a terminal. Argument-parser errors print as `error EKL_USAGE: …`.',
  },
  { code: 130, meaning: '`ekslink demo` only: interrupted (SIGINT/SIGTERM), after cleaning up.' },
];

/** 2 when the error is in what the user gave (flags, files), 1 when the operation failed. */
export function exitCodeOf(err: EkslinkError): 1 | 2 {
  return err.source === 'config' || err.source === 'usage' ? EXIT.usage : EXIT.failed;
}
