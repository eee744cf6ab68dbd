import type { AccountConnection } from '../../aws/account.js';
import type { Clock } from '../../engine/clock.js';
import type { OutputSink } from '../../engine/output.js';
import type { StepContext } from '../../engine/step.js';
import { accountIdLookup, connectAccounts } from '../shared/connections.js';
import type { DeploymentDeps } from '../topology.js';
import type { GcpToAwsConfig } from './config.js';

/** What steps learn and hand to later steps (published by read and by apply). */
export interface GcpToAwsFacts {
  loadBalancerArn?: string;
  loadBalancerDnsName?: string;
  targetGroupArn?: string;
  listenerArn?: string;
  serviceId?: string;
  serviceName?: string;
  /** The consumer VPC endpoint's security group. */
  securityGroupId?: string;
  /** The NLB's own security group (provider VPC): the fleet admits traffic only from it. */
  nlbSecurityGroupId?: string;
  /** The provider VPC's IPv4 CIDR blocks, primary first. */
  providerVpcCidrs?: string[];
  endpointId?: string;
  endpointDnsNames?: string[];
  /** Private IPv4 addresses of the endpoint's network interfaces, ordered by subnet. */
  endpointAddresses?: string[];
  endpointState?: string;
  connectionState?: string;
}

export interface GcpToAwsContext extends StepContext {
  readonly config: GcpToAwsConfig;
  readonly provider: AccountConnection;
  readonly consumer: AccountConnection;
  readonly sink: OutputSink;
  readonly clock: Clock;
  readonly pollIntervalMs: number;
  readonly facts: GcpToAwsFacts;
  /**
   * Principals allowed on the endpoint service: config, or the consumer account root in the
   * consumer's partition (known from its caller identity once the accounts are connected).
   */
  readonly allowedPrincipals: readonly string[];
}

export function createGcpToAwsContext(config: GcpToAwsConfig, deps: DeploymentDeps): GcpToAwsContext {
  const { provider, consumer } = connectAccounts(config.deployment, deps, {
    provider: config.provider,
    consumer: config.consumer,
  });
  return {
    config,
    provider,
    consumer,
    sink: deps.sink,
    clock: deps.clock,
    pollIntervalMs: deps.pollIntervalMs ?? 2000,
    facts: {},
    get allowedPrincipals() {
      return (
        config.provider.allowedPrincipals ?? [
          `arn:${consumer.partition}:iam::${config.consumer.accountId}:root`,
        ]
      );
    },
    accountId: accountIdLookup({ provider: config.provider, consumer: config.consumer }),
  };
}
