/**
 * How the entry point reports a failure: the exit code by cause (2 for what was given, 1 for
 * a failed operation or a bug), the text form on stderr and the JSON form on stdout.
 */
import { Command, CommanderError } from 'commander';
import { describe, expect, it } from 'vitest';
import { ConfigError, EkslinkError, UsageError } from '../../common/errors.js';
import { commandPath, reportError, wantsJson } from '../../cli/report-error.js';
import { ProvisionError } from '../../provisioner/errors.js';

function report(err: unknown, json = false, debug = false) {
  const out: string[] = [];
  const errOut: string[] = [];
  const code = reportError(err, {
    json,
    command: 'ekslink provision plan',
    stdout: (t) => out.push(t),
    stderr: (t) => errOut.push(t),
    debug,
  });
  return { code, stdout: out.join(''), stderr: errOut.join('') };
}

describe('reportError', () => {
  it('exits 2 for what was given, 1 for a failed operation', () => {
    expect(report(new ConfigError('bad file', ['a: must be b'])).code).toBe(2);
    expect(report(new UsageError('give one')).code).toBe(2);
    expect(report(new EkslinkError('EKL_WG_OUTPUTS_CONFLICT', 'differ', { source: 'config' })).code).toBe(2);
    expect(
      report(new ProvisionError('EKL_PROVISION_UNKNOWN_TOPOLOGY', 'nope', { source: 'usage' })).code,
    ).toBe(2);
    expect(report(new ProvisionError('EKL_PROVISION_AWS_CALL_FAILED', 'AccessDenied')).code).toBe(1);
    expect(report(new EkslinkError('EKL_LISTEN_FAILED', 'in use', { source: 'internal' })).code).toBe(1);
  });

  it('prints `error CODE: message` on stderr, or one JSON document on stdout', () => {
    const text = report(new ConfigError('x is not valid (1 problem):\n  - a: must be b', ['a: must be b']));
    expect(text).toEqual({
      code: 2,
      stdout: '',
      stderr: 'error EKL_CONFIG_INVALID: x is not valid (1 problem):\n  - a: must be b\n',
    });
    const json = report(new ConfigError('x is not valid', ['a: must be b']), true);
    expect(json.stderr).toBe('');
    expect(JSON.parse(json.stdout)).toEqual({
      ok: false,
      error: { code: 'EKL_CONFIG_INVALID', message: 'x is not valid', problems: ['a: must be b'] },
      exitCode: 2,
    });
  });

  it('turns a parser error into EKL_USAGE with exit 2, and --help/--version into 0 with nothing added', () => {
    const parser = report(new CommanderError(1, 'commander.unknownOption', "error: unknown option '--x'"));
    expect(parser).toEqual({
      code: 2,
      stdout: '',
      stderr: "error EKL_USAGE: unknown option '--x'; see `ekslink provision plan --help`\n",
    });
    expect(report(new CommanderError(0, 'commander.helpDisplayed', '(outputHelp)'))).toEqual({
      code: 0,
      stdout: '',
      stderr: '',
    });
  });

  it('reports a bug as EKL_INTERNAL with its stack, exit 1', () => {
    const bug = report(new TypeError('x is undefined'));
    expect(bug.code).toBe(1);
    expect(bug.stderr).toMatch(
      /^error EKL_INTERNAL: unexpected error \(a bug in ekslink; please report it with this output\): x is undefined\nTypeError: x is undefined\n\s+at /,
    );
  });

  it('prints the cause of a coded error only with EKSLINK_DEBUG', () => {
    const err = new ProvisionError('EKL_PROVISION_AWS_CALL_FAILED', 'denied', {
      cause: new Error('raw SDK error'),
    });
    expect(report(err).stderr).not.toContain('raw SDK error');
    expect(report(err, false, true).stderr).toContain('raw SDK error');
  });
});

describe('wantsJson and commandPath', () => {
  it('reads --output json in both spellings, and the deepest command named', () => {
    expect(wantsJson(['verify', '--output', 'json'])).toBe(true);
    expect(wantsJson(['verify', '--output=json'])).toBe(true);
    expect(wantsJson(['verify', '--output', 'text'])).toBe(false);
    const program = new Command('ekslink');
    program.command('provision').command('plan');
    expect(commandPath(program, ['provision', 'plan', '--topology', 'x'])).toBe('ekslink provision plan');
    expect(commandPath(program, ['provison'])).toBe('ekslink');
  });
});
