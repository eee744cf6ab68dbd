import * as z from 'zod';
import { validateConfig } from '../../common/config-file.js';
import type { RegisterCommand } from '../command.js';

const optionsSchema = z.object({
  server: z.string().min(1).optional(),
  tlsServerName: z.string().min(1).optional(),
  caFile: z.string().min(1).optional(),
  kubeconfig: z.string().min(1).optional(),
  context: z.string().min(1).optional(),
  timeoutMs: z.coerce
    .number()
    .int()
    .min(100, 'must be at least 100 (milliseconds per hop), e.g. --timeout-ms 5000')
    .max(120_000, 'must be at most 120000, e.g. --timeout-ms 5000')
    .default(5000),
  output: z.enum(['text', 'json'], { error: 'must be text or json, e.g. --output json' }).default('text'),
  dnsServer: z
    .array(
      z
        .string()
        .regex(
          /^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-f:]+\])(:\d{1,5})?$|^[0-9a-f:]+$/i,
          'must be an IP[:PORT], e.g. --dns-server 10.0.0.2',
        ),
    )
    .optional(),
});

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

export const registerVerify: RegisterCommand = (program, run) => {
  program
    .command('verify')
    .description(
      'Check the path to the EKS API from here, hop by hop: DNS, TCP, TLS (SNI + CA), GET /version and /readyz. Exits 1 at the first failing hop.',
    )
    .option('--server <host[:port]>', 'server to check (default port 443); or the server of --kubeconfig')
    .option('--tls-server-name <name>', 'SNI and expected certificate name: the EKS hostname')
    .option('--ca-file <file>', 'PEM of the cluster CA')
    .option(
      '--kubeconfig <file>',
      'take server, tls-server-name and CA from this kubeconfig (flags override)',
    )
    .option('--context <name>', 'kubeconfig context (default: current-context)')
    .option('--timeout-ms <n>', 'bound on each hop, in milliseconds', '5000')
    .option(
      '--dns-server <ip[:port]>',
      'resolve with this DNS server instead of the system resolver (repeatable)',
      collect,
    )
    .option('--output <format>', 'text or json', 'text')
    .action(
      run(async (raw: Record<string, unknown>) => {
        const opts = validateConfig(optionsSchema, raw, 'ekslink verify options', { paths: 'flags' });
        const [
          { resolveTarget },
          { runVerify },
          { serverLookup },
          { formatHuman, formatJson, formatHop, formatHeader, formatVerdict, describeTarget },
        ] = await Promise.all([
          import('../../verify/target.js'),
          import('../../verify/runner.js'),
          import('../../verify/resolve.js'),
          import('../../verify/report.js'),
        ]);
        const target = await resolveTarget(opts);
        // On a terminal, print each hop as it finishes; otherwise one block at the end.
        const live = opts.output === 'text' && process.stdout.isTTY === true;
        if (live) process.stdout.write(`${formatHeader(describeTarget(target))}\n`);
        const report = await runVerify({
          target,
          timeoutMs: opts.timeoutMs,
          ...(opts.dnsServer ? { lookup: serverLookup(opts.dnsServer, opts.timeoutMs) } : {}),
          ...(live ? { onHop: (hop) => process.stdout.write(`${formatHop(hop).join('\n')}\n`) } : {}),
        });
        if (opts.output === 'json') process.stdout.write(formatJson(report));
        else if (!live) process.stdout.write(formatHuman(report));
        else process.stdout.write(`${formatVerdict(report)}\n`);
        return report.ok ? 0 : 1;
      }),
    );
};
