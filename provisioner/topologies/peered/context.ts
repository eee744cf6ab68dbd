import type { AccountConnection } from '../../aws/account.js';
import type { Clock } from '../../engine/clock.js';
import type { OutputSink } from '../../engine/output.js';
import type { StepContext } from '../../engine/step.js';
import { accountIdLookup, connectAccounts } from '../shared/connections.js';
import type { DeploymentDeps } from '../topology.js';
import type { PeeredConfig, PeeredSide } from './config.js';
import { createDnsLookup, type DnsLookup } from './dns-lookup.js';

/** What steps learn and hand to later steps (published by read and by apply). */
export interface PeeredFacts {
  /** The peering connection this deployment created (found by tags in the requester account). */
  peeringConnectionId?: string;
  peeringStatus?: string;
  /** Every peering id this deployment created, ended ones too: routes still pointing at them are ours. */
  knownPeeringIds?: string[];
  /** Route target on both sides: the peering connection, or the Transit Gateway. */
  routeTarget?: { kind: 'peering' | 'transit-gateway'; id: string };
  routes?: { side: PeeredSide; routeTableId: string; destination: string; target: string }[];
  securityGroupRuleId?: string;
  /** `check`: public DNS answers private addresses; `zone`: a private hosted zone is associated. */
  dnsMode?: 'check' | 'zone';
  dnsAnswers?: string[];
  zoneAssociated?: boolean;
}

export interface PeeredContext extends StepContext {
  readonly config: PeeredConfig;
  readonly requester: AccountConnection;
  readonly accepter: AccountConnection;
  readonly sink: OutputSink;
  readonly clock: Clock;
  readonly pollIntervalMs: number;
  readonly facts: PeeredFacts;
  /** Resolves the EKS hostname for the DNS check (config dns.checkServers, else this host's resolver). */
  readonly lookup: DnsLookup;
  side(side: PeeredSide): AccountConnection;
}

export function createPeeredContext(config: PeeredConfig, deps: DeploymentDeps): PeeredContext {
  const { requester, accepter } = connectAccounts(config.deployment, deps, {
    requester: config.requester,
    accepter: config.accepter,
  });
  return {
    config,
    requester,
    accepter,
    sink: deps.sink,
    clock: deps.clock,
    pollIntervalMs: deps.pollIntervalMs ?? 2000,
    facts: {},
    lookup: createDnsLookup(config.dns.checkServers, config.timeouts.dnsTimeoutMs),
    side: (side) => (side === 'requester' ? requester : accepter),
    accountId: accountIdLookup({ requester: config.requester, accepter: config.accepter }),
  };
}
