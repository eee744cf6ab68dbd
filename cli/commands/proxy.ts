import * as z from 'zod';
import { validateConfig } from '../../common/config-file.js';
import { UsageError } from '../../common/errors.js';
import type { RegisterCommand } from '../command.js';

const optionsSchema = z
  .object({
    config: z
      .string()
      .min(1, 'must name a YAML or JSON file, e.g. --config /etc/ekslink/proxy.yaml')
      .optional(),
    checkConfig: z
      .string()
      .min(1, 'must name a YAML or JSON file, e.g. --check-config /etc/ekslink/proxy.yaml')
      .optional(),
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
    .action(
      run(async (raw: Record<string, unknown>) => {
        const opts = validateConfig(optionsSchema, raw, 'ekslink proxy options', { paths: 'flags' });
        if ((opts.config === undefined) === (opts.checkConfig === undefined)) {
          throw new UsageError(
            'give exactly one of --config FILE (run) or --check-config FILE (validate), e.g. ekslink proxy --config /etc/ekslink/proxy.yaml',
          );
        }
        const [{ runProxy }, { checkConfig }] = await Promise.all([
          import('../../proxy/process/run.js'),
          import('../../proxy/process/check-config.js'),
        ]);
        if (opts.checkConfig !== undefined) {
          console.log(await checkConfig(opts.checkConfig));
          return 0;
        }
        return runProxy(opts.config as string);
      }),
    );
};
