import type { Command } from 'commander';

/** What a command's action resolves to: its exit code (0 when omitted). */
export type CommandResult = number | void;

/**
 * Wraps a command action so the entry point, and only it, turns the result into the
 * process exit code.
 */
export type Run = <A extends unknown[]>(
  action: (...args: A) => Promise<CommandResult>,
) => (...args: A) => Promise<void>;

/** Each file in cli/commands exports one of these. */
export type RegisterCommand = (program: Command, run: Run) => void;
