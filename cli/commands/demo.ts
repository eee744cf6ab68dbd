import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import * as z from 'zod';
import { validateConfig } from '../../common/config-file.js';
import { UsageError } from '../../common/errors.js';
import type { RegisterCommand } from '../command.js';

/** "30s", "1m", "1500ms", or a bare number of seconds. */
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m)?$/;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000 } as const;

const demoOptions = z
  .object({
    duration: z
      .string()
      .regex(DURATION, { message: 'must be a duration like 30s, 2m or 8000ms' })
      .transform((s) => {
        const [, n, unit] = DURATION.exec(s) as RegExpExecArray;
        return Math.round(Number(n) * UNIT_MS[(unit ?? 's') as keyof typeof UNIT_MS]);
      })
      .pipe(
        z
          .number()
          .min(3000, { message: 'must be at least 3s (rotations need time), e.g. --duration 30s' })
          .max(3_600_000, { message: 'must be at most 1h, e.g. --duration 5m' }),
      ),
    proxy: z.boolean(),
    rate: z.coerce
      .number({ message: 'must be a number of requests per second from 1 to 20, e.g. --rate 4' })
      .int({ message: 'must be a whole number of requests per second from 1 to 20, e.g. --rate 4' })
      .min(1, { message: 'must be at least 1 request per second, e.g. --rate 4' })
      .max(20, {
        message: 'must be at most 20 requests per second (each is a kubectl process), e.g. --rate 4',
      }),
    client: z.enum(['auto', 'kubectl', 'builtin'], {
      message: 'must be auto (kubectl if installed), kubectl or builtin, e.g. --client auto',
    }),
  })
  .strict();

/** `ekslink demo`: the whole story on one machine (docs/demo.md). */
export const registerDemo: RegisterCommand = (program, run) => {
  program
    .command('demo')
    .description(
      'Run a private-EKS stand-in whose ENIs rotate, a DNS server, the real proxy, and kubectl through it; all on loopback.',
    )
    .option('--duration <time>', 'how long to run, e.g. 30s or 2m', '30s')
    .option(
      '--no-proxy',
      'pin the client to the first resolved ENI instead, to show what breaks without ekslink',
    )
    .option('--rate <n>', 'kubectl requests per second', '4')
    .option('--client <kind>', 'auto (kubectl if on PATH, else built-in), kubectl, or builtin', 'auto')
    .action(
      run(async (raw: unknown) => {
        const opts = validateConfig(demoOptions, raw, 'ekslink demo options', { paths: 'flags' });
        const { runDemo } = await import('../../demo/scenario.js');
        const controller = new AbortController();
        const onSignal = (): void => controller.abort();
        const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
        for (const s of signals) process.once(s, onSignal);
        try {
          return await runDemo({
            durationMs: opts.duration,
            rate: opts.rate,
            proxy: opts.proxy,
            client: opts.client,
            cliPath: builtCliPath(),
            out: process.stdout,
            tty: process.stdout.isTTY === true,
            columns: process.stdout.columns ?? 80,
            signal: controller.signal,
          });
        } finally {
          for (const s of signals) process.off(s, onSignal);
        }
      }),
    );
};

/** The bundled CLI that can run `ekslink proxy`: this very file when run from dist/. */
function builtCliPath(): string {
  const self = process.argv[1] ?? '';
  if (/\.m?js$/.test(self)) return self;
  const dist = resolve('dist/ekslink.mjs');
  if (existsSync(dist)) return dist;
  throw new UsageError(
    'the demo starts the built proxy: run `npm run demo` (it builds dist/ekslink.mjs first)',
  );
}
