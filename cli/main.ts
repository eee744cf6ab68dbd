#!/usr/bin/env node
// Must stay the first import: it stops older Node releases before anything else loads.
import './node-version.js';
import { Command } from 'commander';
import type { CommandResult, Run } from './command.js';
import { registerDemo } from './commands/demo.js';
import { registerKubeconfig } from './commands/kubeconfig.js';
import { registerProvision } from './commands/provision.js';
import { registerProxy } from './commands/proxy.js';
import { registerVerify } from './commands/verify.js';
import { registerWireguard } from './commands/wireguard.js';
import { commandPath, reportError, wantsJson } from './report-error.js';

// The one place that sets the process exit code (docs/errors.md: 0 ok, 1 failed, 2 bad usage or input).
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

const args = process.argv.slice(2);
try {
  await program.parseAsync(process.argv);
} catch (err) {
  exitCode = reportError(err, {
    json: wantsJson(args),
    command: commandPath(program, args),
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    debug: Boolean(process.env.EKSLINK_DEBUG),
  });
}
process.exitCode = exitCode;
