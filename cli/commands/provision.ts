import { createInterface } from 'node:readline/promises';
import { Option } from 'commander';
import * as z from 'zod';
import { validateConfig } from '../../common/config-file.js';
import type { RegisterCommand } from '../command.js';
import { TOPOLOGY_HELP } from '../topology-names.js';

const runOptions = z.object({
  topology: z.string().min(1, 'name a topology, e.g. --topology gcp-to-aws'),
  config: z.string().min(1, 'name the config file, e.g. --config acme.yaml'),
  yes: z.boolean().default(false),
  output: z
    .enum(['text', 'json'], { message: 'must be "text" or "json", e.g. --output json' })
    .default('text'),
  outputsFile: z.string().min(1, 'name the outputs file, e.g. --outputs-file acme-outputs.json').optional(),
});

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return /^(y|yes)$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

export const registerProvision: RegisterCommand = (program, run) => {
  const provision = program
    .command('provision')
    .description('Wire the cross-account network path of a topology: plan, apply, destroy, iam-policy');

  for (const action of ['plan', 'apply', 'destroy'] as const) {
    const cmd = provision
      .command(action)
      .description(
        {
          plan: 'Show what exists and what apply would create, change or delete (changes nothing)',
          apply: 'Create or correct every resource of the topology, then print the outputs',
          destroy: "Delete this deployment's tagged resources, last step first",
        }[action],
      )
      .requiredOption('--topology <name>', `topology: ${TOPOLOGY_HELP}`)
      .requiredOption('--config <file>', 'deployment config (YAML or JSON)')
      .addOption(
        new Option('--output <format>', 'text for people, json for machines')
          .choices(['text', 'json'])
          .default('text'),
      );
    if (action !== 'plan')
      cmd.option('--yes', 'do not ask for confirmation (required when not on a terminal)', false);
    if (action === 'apply')
      cmd.option(
        '--outputs-file <file>',
        'also write the outputs as versioned JSON, for wireguard render and kubeconfig --provision-outputs',
      );
    cmd.action(
      run(async (raw: Record<string, unknown>) => {
        const options = validateConfig(runOptions, raw, `ekslink provision ${action} options`, {
          paths: 'flags',
        });
        const { runProvision } = await import('../../provisioner/command.js');
        return runProvision(action, options, {
          out: (line) => console.log(line),
          interactive: Boolean(process.stdin.isTTY && process.stdout.isTTY),
          confirm,
        });
      }),
    );
  }

  provision
    .command('iam-policy')
    .description('Print the least-privilege IAM policy for one account of a topology')
    .requiredOption('--topology <name>', `topology: ${TOPOLOGY_HELP}`)
    .requiredOption('--account <account>', 'which account the policy is for, e.g. provider or consumer')
    .addOption(
      new Option(
        '--partition <partition>',
        'ARN partition (default: from the account region in --config, else aws)',
      ).choices(['aws', 'aws-cn', 'aws-us-gov']),
    )
    .option('--config <file>', 'deployment config: the account region picks the partition')
    .action(
      run(async (raw: { topology: string; account: string; partition?: string; config?: string }) => {
        const { runIamPolicy } = await import('../../provisioner/command.js');
        return runIamPolicy(raw, { out: (line) => console.log(line) });
      }),
    );
};
