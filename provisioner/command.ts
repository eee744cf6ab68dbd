import { ConfigError } from '../common/errors.js';
import { loadConfigFile } from '../common/config-file.js';
import { PARTITIONS, partitionOfRegion, type Partition } from './aws/partition.js';
import { systemClock, type Clock } from './engine/clock.js';
import { MemorySink, teeSink } from './engine/output.js';
import { ProvisionError } from './errors.js';
import { outputsDocument, writeOutputsFile } from './outputs-file.js';
import { humanSink } from './render.js';
import { getTopology } from './topologies/index.js';
import type { DeploymentDeps } from './topologies/topology.js';

/** The terminal as the provision command sees it: injected so tests drive it. */
export interface ProvisionIo {
  out(line: string): void;
  /** Whether a person can answer a question (stdin and stdout are terminals). */
  readonly interactive: boolean;
  confirm(question: string): Promise<boolean>;
  readonly clock?: Clock;
  /** Extra engine dependencies (tests: observer, fast polls). */
  readonly deps?: Partial<DeploymentDeps>;
}

export interface ProvisionOptions {
  readonly topology: string;
  readonly config: string;
  readonly yes: boolean;
  readonly output: 'text' | 'json';
  /** apply: also write the outputs, versioned, to this file (outputs-file.ts). */
  readonly outputsFile?: string | undefined;
}

/** `ekslink provision plan|apply|destroy`: returns the exit code. */
export async function runProvision(
  action: 'plan' | 'apply' | 'destroy',
  options: ProvisionOptions,
  io: ProvisionIo,
): Promise<number> {
  const topology = getTopology(options.topology);
  const config = await loadConfigFile(options.config, topology.configSchema);
  if (action !== 'plan' && !options.yes && !io.interactive) {
    throw new ProvisionError(
      'EKL_PROVISION_NOT_CONFIRMED',
      `refusing to ${action} without confirmation: not on a terminal; review \`ekslink provision plan\` and pass --yes`,
      { source: 'usage' },
    );
  }
  const collected = new MemorySink();
  const text = options.output === 'text';
  const sink = text ? teeSink(humanSink(io.out), collected) : collected;
  const deployment = await topology.open(config, { sink, clock: io.clock ?? systemClock, ...io.deps });
  try {
    let outcome: Record<string, unknown>;
    if (action === 'plan') {
      const plan = await deployment.plan();
      outcome = { changed: plan.changed, steps: plan.steps };
    } else if (action === 'apply') {
      if (!options.yes) {
        const plan = await deployment.plan();
        if (
          plan.changed > 0 &&
          !(await io.confirm(`Apply ${plan.changed} change(s) to deployment ${deployment.name}? [y/N] `))
        ) {
          io.out('Cancelled: nothing was changed.');
          return 1;
        }
      }
      const result = await deployment.apply();
      outcome = { changed: result.changed, steps: result.steps, outputs: result.outputs };
      if (options.outputsFile !== undefined) {
        await writeOutputsFile(
          options.outputsFile,
          outputsDocument(topology.name, deployment.name, result.outputs),
        );
        if (text) io.out(`Wrote outputs to ${options.outputsFile}`);
      }
    } else {
      const question = `Destroy every resource tagged ekslink:deployment=${deployment.name} (topology ${topology.name})? [y/N] `;
      if (!options.yes && !(await io.confirm(question))) {
        io.out('Cancelled: nothing was deleted.');
        return 1;
      }
      const result = await deployment.destroy();
      outcome = { changed: result.changed, steps: result.steps };
    }
    if (!text) {
      io.out(
        JSON.stringify(
          {
            command: action,
            topology: topology.name,
            deployment: deployment.name,
            ...outcome,
            messages: collected.messages,
          },
          null,
          2,
        ),
      );
    }
    return 0;
  } finally {
    deployment.close();
  }
}

export interface IamPolicyOptions {
  readonly topology: string;
  readonly account: string;
  /** ARN partition of the printed policy. @default from the account's region in `config`, else aws */
  readonly partition?: string | undefined;
  /**
   * Deployment config: its `<account>.region` gives the default partition, and statements
   * name exactly the configured resources in that account's region and ID.
   */
  readonly config?: string | undefined;
}

/** `ekslink provision iam-policy`: prints the policy document for one account. */
export async function runIamPolicy(options: IamPolicyOptions, io: Pick<ProvisionIo, 'out'>): Promise<number> {
  const topology = getTopology(options.topology);
  if (!topology.accounts.includes(options.account)) {
    throw new ConfigError(
      `--account ${options.account} is not an account of topology ${topology.name}; use one of: ${topology.accounts.join(', ')}`,
    );
  }
  let partition: Partition = 'aws';
  const config =
    options.config === undefined ? undefined : await loadConfigFile(options.config, topology.configSchema);
  if (options.partition !== undefined) {
    if (!(PARTITIONS as readonly string[]).includes(options.partition)) {
      throw new ConfigError(
        `--partition ${options.partition} is not an AWS partition; use one of: ${PARTITIONS.join(', ')} (e.g. --partition aws-cn for cn-north-1)`,
      );
    }
    partition = options.partition as Partition;
  } else if (config !== undefined) {
    const region = (config as Record<string, { region?: unknown } | undefined>)[options.account]?.region;
    if (typeof region === 'string') partition = partitionOfRegion(region);
  }
  io.out(JSON.stringify(topology.iamPolicy(options.account, partition, config), null, 2));
  return 0;
}
