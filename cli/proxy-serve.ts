/**
 * `ekslink proxy --config FILE`, the long-running proxy, started without the command-line
 * parser: commander and the option schemas of every command would stay in the serving
 * process's heap for its whole life, and every garbage collection walks the whole heap
 * (config-loader.ts says the same of the config schema). Only this exact form is taken
 * here; anything else (--help, --check-config, a typo) goes through the full CLI, which
 * explains it. Errors are reported as the full CLI reports them.
 */
import { parseArgs } from 'node:util';

/** The config path when `argv` (as process.argv) is exactly `proxy --config FILE`, else undefined. */
export function proxyServeConfig(argv: readonly string[]): string | undefined {
  if (argv[2] !== 'proxy') return undefined;
  try {
    const { values, positionals } = parseArgs({
      args: argv.slice(3),
      options: { config: { type: 'string' } },
      strict: true,
      allowPositionals: true,
    });
    return positionals.length === 0 && values.config !== undefined && values.config !== ''
      ? values.config
      : undefined;
  } catch {
    return undefined;
  }
}

/** Runs the proxy until it stops; returns the exit code (docs/errors.md). */
export async function serveProxy(configPath: string): Promise<number> {
  try {
    const { runProxy } = await import('../proxy/process/run.js');
    return await runProxy(configPath);
  } catch (err) {
    const { processOutput, reportError } = await import('./report-error.js');
    return reportError(err, processOutput(false, 'ekslink proxy'));
  }
}
