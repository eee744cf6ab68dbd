#!/usr/bin/env node
// Must stay the first import: it stops older Node releases before anything else loads.
import './node-version.js';
import { Command, CommanderError } from 'commander';
import { ConfigError, EkslinkError } from '../common/errors.js';
import type { CommandResult, Run } from './command.js';
import { registerDemo } from './commands/demo.js';
import { registerKubeconfig } from './commands/kubeconfig.js';
import { registerProvision } from './commands/provision.js';
import { registerProxy } from './commands/proxy.js';
import { registerVerify } from './commands/verify.js';
import { registerWireguard } from './commands/wireguard.js';

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
  .showHelpAfterError()
  .exitOverride();

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

try {
  await program.parseAsync(process.argv);
} catch (err) {
  exitCode = reportError(err);
}
process.exitCode = exitCode;

function reportError(err: unknown): number {
  if (err instanceof CommanderError) {
    // commander already printed the message (and help); --help and --version exit 0.
    return err.exitCode;
  }
  if (err instanceof ConfigError) {
    console.error(`error ${err.code}: ${err.message}`);
    return 2;
  }
  if (err instanceof EkslinkError) {
    console.error(`error ${err.code}: ${err.message}`);
    if (process.env.EKSLINK_DEBUG && err.cause) console.error(err.cause);
    return err.source === 'usage' ? 2 : 1;
  }
  console.error('internal error:', err);
  return 70;
}
