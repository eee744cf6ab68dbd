import * as z from 'zod';
import { validateConfig } from '../../common/config-file.js';
import { UsageError } from '../../common/errors.js';
import type { RegisterCommand } from '../command.js';

const fileFlag = (flag: string) =>
  z.string().min(1, `must name a YAML or JSON file, e.g. ${flag} /etc/ekslink/proxy.yaml`).optional();

const optionsSchema = z
  .object({
    config: fileFlag('--config'),
    checkConfig: fileFlag('--check-config'),
    printConfig: fileFlag('--print-config'),
    output: z.enum(['text', 'json']).default('text'),
  })
  .strict();

export const registerProxy: RegisterCommand = (program, run) => {
  program
    .command('proxy')
    .description(
      'Run the TLS-passthrough proxy (SNI allowlist, per-connection DNS, PROXY v2, health port, drain on SIGTERM, reload on SIGHUP), or validate its config.',
    )
    .option('--config <file>', 'run with this config file (YAML or JSON)')
    .option('--check-config <file>', 'validate the file, print a summary or every problem (exit 2), and exit')
    .option(
      '--print-config <file>',
      'validate the file like --check-config and print it, every default filled in, as one JSON document',
    )
    .option('--output <format>', 'errors as text, or as one JSON document on stdout (json)', 'text')
    .action(
      run(async (raw: Record<string, unknown>) => {
        const opts = validateConfig(optionsSchema, raw, 'ekslink proxy options', { paths: 'flags' });
        const modes = [opts.config, opts.checkConfig, opts.printConfig].filter((m) => m !== undefined);
        if (modes.length !== 1) {
          throw new UsageError(
            'give exactly one of --config FILE (run), --check-config FILE (validate) or --print-config FILE (validate and print as JSON), e.g. ekslink proxy --config /etc/ekslink/proxy.yaml',
          );
        }
        if (opts.checkConfig !== undefined) {
          const { checkConfig } = await import('../../proxy/process/check-config.js');
          console.log(await checkConfig(opts.checkConfig));
          return 0;
        }
        if (opts.printConfig !== undefined) {
          const { printConfig } = await import('../../proxy/process/check-config.js');
          console.log(await printConfig(opts.printConfig));
          return 0;
        }
        const { runProxy } = await import('../../proxy/process/run.js');
        return runProxy(opts.config as string);
      }),
    );
};
