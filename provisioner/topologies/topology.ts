import type * as z from 'zod';
import type { CallObserver } from '../aws/account.js';
import type { Partition } from '../aws/partition.js';
import type { Clock } from '../engine/clock.js';
import type { OutputSink } from '../engine/output.js';
import type { RetryPolicy } from '../engine/retry.js';
import { MSG } from '../engine/messages.js';
import { emit } from '../engine/output.js';
import { applySteps, destroySteps, planSteps, type RunResult } from '../engine/runner.js';
import type { Step, StepContext } from '../engine/step.js';
import { reportPreflight, type PreflightProblem } from '../engine/preflight.js';
import { buildPolicy, type IamPermission, type PolicyDocument } from '../iam/policy.js';

/** What the world gives a deployment: all injected, so tests control time, output and AWS. */
export interface DeploymentDeps {
  readonly sink: OutputSink;
  readonly clock: Clock;
  /** Sees every AWS call (recording, fault injection). */
  readonly observer?: CallObserver;
  readonly retryPolicy?: RetryPolicy;
  readonly random?: () => number;
  /** First pause between waiter polls. @default 2000 */
  readonly pollIntervalMs?: number;
}

export interface ApplyResult extends RunResult {
  readonly outputs: Readonly<Record<string, unknown>>;
}

/** One deployment of one topology, ready to plan, apply or destroy. */
export interface Deployment {
  readonly topology: string;
  readonly name: string;
  plan(): Promise<RunResult>;
  apply(): Promise<ApplyResult>;
  destroy(): Promise<RunResult>;
  /** Release the SDK clients' sockets. */
  close(): void;
}

/** A topology as the registry and the CLI see it; build one with defineTopology. */
export interface Topology {
  readonly name: string;
  readonly summary: string;
  /** Account keys in the config, e.g. `['provider', 'consumer']`. */
  readonly accounts: readonly string[];
  readonly configSchema: z.ZodType;
  /** Connect to every account (verifying identities) and return the deployment. */
  open(config: unknown, deps: DeploymentDeps): Promise<Deployment>;
  /**
   * Least-privilege policy for one account, built from the steps' declarations. With the
   * deployment config, statements name exactly the configured resources, in that account's
   * region and ID. @default partition aws
   */
  iamPolicy(account: string, partition?: Partition, config?: unknown): PolicyDocument;
  /** Ordered steps, for docs and help: id, account, title. */
  describeSteps(): { id: string; account: string; title: string }[];
}

/** Permissions every account needs whatever the steps: the identity check. */
export const BASE_PERMISSIONS: readonly IamPermission[] = [
  {
    why: 'check the credentials reach the configured account',
    actions: ['sts:GetCallerIdentity'],
    resources: ['*'],
    tagCondition: 'none',
  },
];

export interface TopologyDefinition<Cfg, Ctx extends StepContext> {
  readonly name: string;
  readonly summary: string;
  readonly accounts: readonly string[];
  readonly configSchema: z.ZodType<Cfg>;
  readonly steps: readonly Step<Ctx, unknown>[];
  /** Build the context (clients per account). Does not call AWS. */
  createContext(config: Cfg, deps: DeploymentDeps): Ctx;
  /** Verify each account's identity; called once before any step. */
  connect(ctx: Ctx): Promise<void>;
  /**
   * Look up everything the config references (VPCs, subnets, groups, route tables, zones)
   * in its account and region and return every problem: run before plan and apply read any
   * step, so bad input changes nothing. Not run by destroy, which must work whatever is gone.
   */
  preflight(ctx: Ctx): Promise<readonly PreflightProblem[]>;
  /** What preflight's reads need, each with its `account`. */
  readonly preflightPermissions: readonly IamPermission[];
  deploymentName(config: Cfg): string;
  outputs(ctx: Ctx): Record<string, unknown>;
  close(ctx: Ctx): void;
}

/** Erase a typed topology definition into the registry's Topology shape. */
export function defineTopology<Cfg, Ctx extends StepContext>(def: TopologyDefinition<Cfg, Ctx>): Topology {
  const steps = def.steps;
  return {
    name: def.name,
    summary: def.summary,
    accounts: def.accounts,
    configSchema: def.configSchema,
    describeSteps: () => steps.map((s) => ({ id: s.id, account: s.account, title: s.title })),
    iamPolicy: (account, partition = 'aws', config) => {
      const side = (
        config as Record<string, { region?: string; accountId?: string } | undefined> | undefined
      )?.[account];
      const scope =
        config !== undefined && side?.region !== undefined && side.accountId !== undefined
          ? { region: side.region, accountId: side.accountId, config }
          : undefined;
      return buildPolicy(
        [
          ...BASE_PERMISSIONS,
          ...def.preflightPermissions.filter((p) => p.account === account),
          ...steps.flatMap((s) => s.permissions.filter((p) => (p.account ?? s.account) === account)),
        ],
        partition,
        scope,
      );
    },
    async open(config, deps) {
      const cfg = config as Cfg;
      const ctx = def.createContext(cfg, deps);
      const name = def.deploymentName(cfg);
      const run = { sink: deps.sink, clock: deps.clock };
      const start = (command: string) =>
        emit(deps.sink, MSG.RUN_START, deps.clock.now(), `${command} ${def.name} deployment ${name}`, {
          data: { command, topology: def.name, deployment: name },
        });
      let connected = false;
      const ensureConnected = async () => {
        if (!connected) await def.connect(ctx);
        connected = true;
      };
      const preflight = async () =>
        reportPreflight(`${def.name} deployment ${name}`, await def.preflight(ctx), run);
      return {
        topology: def.name,
        name,
        async plan() {
          start('plan');
          await ensureConnected();
          await preflight();
          return planSteps(steps, ctx, run);
        },
        async apply() {
          start('apply');
          await ensureConnected();
          await preflight();
          const result = await applySteps(steps, ctx, run);
          const outputs = def.outputs(ctx);
          emit(deps.sink, MSG.OUTPUTS, deps.clock.now(), 'outputs', { data: { outputs } });
          emit(
            deps.sink,
            MSG.APPLY_SUMMARY,
            deps.clock.now(),
            result.changed === 0 ? 'no changes' : `${result.changed} change(s) made`,
            {
              data: { changed: result.changed },
            },
          );
          return { ...result, outputs };
        },
        async destroy() {
          start('destroy');
          await ensureConnected();
          return destroySteps(steps, ctx, run);
        },
        close: () => def.close(ctx),
      };
    },
  };
}
