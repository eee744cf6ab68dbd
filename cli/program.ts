/**
 * The ekslink command line: every command registered on one commander program. cli/main.ts
 * runs it and sets the process exit code from what `runCli` returns.
 */
import { Command } from 'commander';
import type { CommandResult, Run } from './command.js';
import { registerDemo } from './commands/demo.js';
import { registerKubeconfig } from './commands/kubeconfig.js';
import { registerProvision } from './commands/provision.js';
import { registerProxy } from './commands/proxy.js';
import { registerVerify } from './commands/verify.js';
import { registerWireguard } from './commands/wireguard.js';
import { commandPath, processOutput, reportError, wantsJson } from './report-error.js';

/** Parses `argv` (as process.argv), runs the command, and returns its exit code (docs/errors.md). */
export async function runCli(argv: readonly string[]): Promise<number> {
  let exitCode = 0;
  const run: Run =
    (action) =>
    async (...args) => {
      const result: CommandResult = await action(...args);
      exitCode = typeof result === 'number' ? result : 0;
    };

  const program = new Command('ekslink')
    .description('Reach a fully private EKS API server from outside its VPC.')
    .version(process.env.npm_package_version ?? '0.1.0')
    // Parser errors are thrown, not printed: reportError prints them with a code (and as JSON
    // under --output json), and they exit 2 like every other usage error.
    .exitOverride()
    .configureOutput({ outputError: () => undefined });

  for (const register of [
    registerProxy,
    registerProvision,
    registerWireguard,
    registerKubeconfig,
    registerVerify,
    registerDemo,
  ]) {
    register(program, run);
  }

  const args = argv.slice(2);
  try {
    await program.parseAsync([...argv]);
  } catch (err) {
    exitCode = reportError(err, processOutput(wantsJson(args), commandPath(program, args)));
  }
  return exitCode;
}
