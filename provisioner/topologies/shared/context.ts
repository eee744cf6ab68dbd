/** What every topology's context holds beside its own facts: its config, its accounts and the injected world. */
import type { AccountConnection } from '../../aws/account.js';
import type { AccountConfig } from '../../aws/account-config.js';
import type { Clock } from '../../engine/clock.js';
import type { OutputSink } from '../../engine/output.js';
import type { StepContext } from '../../engine/step.js';
import type { DeploymentDeps } from '../topology.js';
import { accountIdLookup, connectAccounts } from './connections.js';

/** The part of a topology's context that is the same in every topology. */
export interface TopologyContext<Config, Facts> extends StepContext {
  readonly config: Config;
  readonly sink: OutputSink;
  readonly clock: Clock;
  readonly pollIntervalMs: number;
  /** What steps learn and hand to later steps (published by read and by apply). */
  readonly facts: Facts;
}

/**
 * A topology's accounts connected, and the shared part of its context: the topology adds
 * what only it has (`side()`, the allowed principals, its DNS lookup).
 */
export function createTopologyContext<
  Config extends { readonly deployment: string },
  Facts,
  K extends string,
>(
  config: Config,
  deps: DeploymentDeps,
  accounts: Readonly<Record<K, AccountConfig>>,
): { readonly base: TopologyContext<Config, Facts>; readonly conn: Record<K, AccountConnection> } {
  const conn = connectAccounts(config.deployment, deps, accounts);
  const base: TopologyContext<Config, Facts> = {
    config,
    sink: deps.sink,
    clock: deps.clock,
    pollIntervalMs: deps.pollIntervalMs ?? 2000,
    facts: {} as Facts,
    accountId: accountIdLookup(accounts),
  };
  return { base, conn };
}
