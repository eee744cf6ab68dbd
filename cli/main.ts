#!/usr/bin/env node
// The entry point, and the one place that sets the process exit code (docs/errors.md: 0 ok,
// 1 failed, 2 bad usage or input). It checks the Node.js version before loading anything
// else: the rest of the CLI is imported only on a Node that can run it.
import { nodeVersionProblem } from './node-version.js';

const problem = nodeVersionProblem();
if (problem !== undefined) {
  process.stderr.write(problem);
  process.exitCode = 1;
} else {
  // The serving proxy starts without the command-line parser in its memory (proxy-serve.ts).
  const { proxyServeConfig, serveProxy } = await import('./proxy-serve.js');
  const configPath = proxyServeConfig(process.argv);
  if (configPath !== undefined) {
    process.exitCode = await serveProxy(configPath);
  } else {
    const { runCli } = await import('./program.js');
    process.exitCode = await runCli(process.argv);
  }
}
