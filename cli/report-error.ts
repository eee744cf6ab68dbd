/**
 * How the entry point reports a failed command: `error CODE: message` on stderr, or, in JSON
 * output mode (`--output json`), one JSON document on stdout with the same code. Returns the
 * exit code; cli/main.ts alone sets it on the process.
 */
import { CommanderError, type Command } from 'commander';
import { ConfigError, EkslinkError } from '../common/errors.js';
import { EXIT, exitCodeOf } from '../common/exit-codes.js';

export interface ErrorOutput {
  readonly json: boolean;
  /** The command the user ran, e.g. `ekslink provision plan`, for the --help hint. */
  readonly command: string;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly debug: boolean;
}

interface Reported {
  readonly code: string;
  readonly message: string;
  readonly problems?: readonly string[];
  readonly exitCode: number;
  readonly detail?: string;
}

/** Output to this process's stdout and stderr; the cause's stack with EKSLINK_DEBUG set. */
export function processOutput(json: boolean, command: string): ErrorOutput {
  return {
    json,
    command,
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    debug: Boolean(process.env.EKSLINK_DEBUG),
  };
}

/** Whether the arguments ask for JSON output: `--output json` or `--output=json`. */
export function wantsJson(args: readonly string[]): boolean {
  return args.some((a, i) => a === '--output=json' || (a === '--output' && args[i + 1] === 'json'));
}

/** `ekslink provision plan` from `['provision', 'plan', '--topology', …]`: the deepest command named. */
export function commandPath(program: Command, args: readonly string[]): string {
  const names = [program.name()];
  let cmd = program;
  for (const arg of args) {
    const sub = cmd.commands.find((c) => c.name() === arg || c.aliases().includes(arg));
    if (sub === undefined) break;
    names.push(sub.name());
    cmd = sub;
  }
  return names.join(' ');
}

function classify(err: unknown, command: string): Reported | undefined {
  if (err instanceof CommanderError) {
    // --help and --version end through here too, with exit code 0 and their text printed.
    if (err.exitCode === 0) return undefined;
    const hint = `see \`${command} --help\``;
    if (err.code === 'commander.help') {
      return {
        code: 'EKL_USAGE',
        message: `${command} needs a command (listed above); ${hint}`,
        exitCode: EXIT.usage,
      };
    }
    const text = err.message
      .replace(/^error: /, '')
      .replace(/\n/g, ' ')
      .trim()
      .replace(/\.$/, '');
    return { code: 'EKL_USAGE', message: `${text}; ${hint}`, exitCode: EXIT.usage };
  }
  if (err instanceof EkslinkError) {
    return {
      code: err.code,
      message: err.message,
      ...(err instanceof ConfigError && err.problems.length > 0 ? { problems: err.problems } : {}),
      exitCode: exitCodeOf(err),
      ...(err.cause !== undefined
        ? { detail: String(err.cause instanceof Error ? err.cause.stack : err.cause) }
        : {}),
    };
  }
  const e = err instanceof Error ? err : new Error(String(err));
  return {
    code: 'EKL_INTERNAL',
    message: `unexpected error (a bug in ekslink; please report it with this output): ${e.message}`,
    exitCode: EXIT.failed,
    detail: e.stack ?? e.message,
  };
}

/** Prints the error the way the user asked for output, and returns the exit code. */
export function reportError(err: unknown, out: ErrorOutput): number {
  const r = classify(err, out.command);
  if (r === undefined) return EXIT.ok;
  if (out.json) {
    const error = { code: r.code, message: r.message, ...(r.problems ? { problems: r.problems } : {}) };
    out.stdout(`${JSON.stringify({ ok: false, error, exitCode: r.exitCode }, null, 2)}\n`);
  } else {
    out.stderr(`error ${r.code}: ${r.message}\n`);
  }
  if (r.detail !== undefined && (out.debug || r.code === 'EKL_INTERNAL')) out.stderr(`${r.detail}\n`);
  return r.exitCode;
}
