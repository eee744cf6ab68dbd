import type { AccountConnection } from '../../aws/account.js';
import { createTopologyContext, type TopologyContext } from '../shared/context.js';
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

export interface PeeredContext extends TopologyContext<PeeredConfig, PeeredFacts> {
  readonly requester: AccountConnection;
  readonly accepter: AccountConnection;
  /** Resolves the EKS hostname for the DNS check (config dns.checkServers, else this host's resolver). */
  readonly lookup: DnsLookup;
  side(side: PeeredSide): AccountConnection;
}

export function createPeeredContext(config: PeeredConfig, deps: DeploymentDeps): PeeredContext {
  const { base, conn } = createTopologyContext<PeeredConfig, PeeredFacts, PeeredSide>(config, deps, {
    requester: config.requester,
    accepter: config.accepter,
  });
  const { requester, accepter } = conn;
  return {
    ...base,
    requester,
    accepter,
    lookup: createDnsLookup(config.dns.checkServers, config.timeouts.dnsTimeoutMs),
    side: (side) => conn[side],
  };
}
