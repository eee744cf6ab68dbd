import type { AccountConnection } from '../../aws/account.js';
import { createTopologyContext, type TopologyContext } from '../shared/context.js';
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

export interface GcpToAwsContext extends TopologyContext<GcpToAwsConfig, GcpToAwsFacts> {
  readonly provider: AccountConnection;
  readonly consumer: AccountConnection;
  /**
   * Principals allowed on the endpoint service: config, or the consumer account root in the
   * consumer's partition (known from its caller identity once the accounts are connected).
   */
  readonly allowedPrincipals: readonly string[];
}

export function createGcpToAwsContext(config: GcpToAwsConfig, deps: DeploymentDeps): GcpToAwsContext {
  const { base, conn } = createTopologyContext<GcpToAwsConfig, GcpToAwsFacts, 'provider' | 'consumer'>(
    config,
    deps,
    { provider: config.provider, consumer: config.consumer },
  );
  const { provider, consumer } = conn;
  return {
    ...base,
    provider,
    consumer,
    get allowedPrincipals() {
      return (
        config.provider.allowedPrincipals ?? [
          `arn:${consumer.partition}:iam::${config.consumer.accountId}:root`,
        ]
      );
    },
  };
}
