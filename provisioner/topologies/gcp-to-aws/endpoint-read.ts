/** Step vpc-endpoint, read: the consumer's tagged endpoints and security groups, the kept one of each and its duplicates. */
import {
  DescribeSecurityGroupsCommand,
  DescribeVpcEndpointsCommand,
  type SecurityGroup,
  type VpcEndpoint,
} from '@aws-sdk/client-ec2';
import { chooseKeeper, reportDuplicates, type Choice } from '../shared/duplicates.js';
import { listTagged } from '../shared/tagged-read.js';
import { publishEndpointAddresses } from './endpoint-addresses.js';
import type { GcpToAwsContext } from './context.js';

export interface VpcEndpointState {
  /** Kept first, then duplicates. */
  readonly securityGroups: readonly SecurityGroup[];
  /** This deployment's endpoints that still exist (not deleting/deleted): kept first, then duplicates. */
  readonly endpoints: readonly VpcEndpoint[];
  readonly endpointChoice: Choice<VpcEndpoint>;
  readonly groupChoice: Choice<SecurityGroup>;
}

/** This deployment's security groups in the consumer VPC, by tags: the read the next run makes. */
export async function listSecurityGroups(ctx: GcpToAwsContext): Promise<SecurityGroup[]> {
  const conn = ctx.consumer;
  return listTagged(conn, ctx.config.deployment, {
    operation: 'DescribeSecurityGroups',
    what: 'security groups',
    filters: [{ Name: 'vpc-id', Values: [ctx.config.consumer.vpcId] }],
    send: (Filters, NextToken) => conn.ec2.send(new DescribeSecurityGroupsCommand({ Filters, NextToken })),
    page: (out) => ({ items: out.SecurityGroups, next: out.NextToken }),
    tags: (g) => g.Tags,
  });
}

/** This deployment's live endpoints in the consumer VPC, by tags (and VPC: tags alone are not an identity). */
export async function listEndpoints(ctx: GcpToAwsContext): Promise<VpcEndpoint[]> {
  const conn = ctx.consumer;
  const all = await listTagged(conn, ctx.config.deployment, {
    operation: 'DescribeVpcEndpoints',
    what: 'VPC endpoints',
    filters: [{ Name: 'vpc-id', Values: [ctx.config.consumer.vpcId] }],
    send: (Filters, NextToken) => conn.ec2.send(new DescribeVpcEndpointsCommand({ Filters, NextToken })),
    page: (out) => ({ items: out.VpcEndpoints, next: out.NextToken }),
    tags: (e) => e.Tags,
  });
  return all.filter(
    (e) =>
      e.VpcId === ctx.config.consumer.vpcId &&
      !['deleting', 'deleted'].includes((e.State ?? '').toLowerCase()),
  );
}

/** An available endpoint carries traffic; a pending one may soon; the rest never will. */
const ENDPOINT_IN_USE = (e: VpcEndpoint) => {
  const state = (e.State ?? '').toLowerCase();
  return {
    score: state === 'available' ? 2 : ['pendingacceptance', 'pending'].includes(state) ? 1 : 0,
    as: state,
  };
};
export const endpointId = (e: VpcEndpoint) => e.VpcEndpointId!;
export const groupId = (g: SecurityGroup) => g.GroupId!;

export async function readVpcEndpoint(ctx: GcpToAwsContext): Promise<VpcEndpointState> {
  const endpointChoice = chooseKeeper(await listEndpoints(ctx), {
    id: endpointId,
    inUse: ENDPOINT_IN_USE,
    created: (e) => (e.CreationTimestamp ? new Date(e.CreationTimestamp).getTime() : undefined),
  });
  const kept = endpointChoice.kept;
  // The group the kept endpoint uses is the one in use; AWS gives groups no creation time.
  const groupChoice = chooseKeeper(await listSecurityGroups(ctx), {
    id: groupId,
    inUse: (g) => ({
      score: kept?.Groups?.some((x) => x.GroupId === g.GroupId) ? 1 : 0,
      as: `used by ${kept?.VpcEndpointId}`,
    }),
  });
  const where = { step: 'vpc-endpoint', account: 'consumer' };
  reportDuplicates(ctx, { ...where, kind: 'VPC endpoint' }, endpointChoice, endpointId);
  reportDuplicates(ctx, { ...where, kind: 'security group' }, groupChoice, groupId);
  ctx.facts.securityGroupId = groupChoice.kept?.GroupId;
  publishEndpoint(ctx, kept);
  await publishEndpointAddresses(ctx, kept);
  return {
    securityGroups: groupChoice.kept ? [groupChoice.kept, ...groupChoice.extras] : [],
    endpoints: kept ? [kept, ...endpointChoice.extras] : [],
    endpointChoice,
    groupChoice,
  };
}

export function publishEndpoint(ctx: GcpToAwsContext, ep: VpcEndpoint | undefined): void {
  ctx.facts.endpointId = ep?.VpcEndpointId;
  ctx.facts.endpointDnsNames = (ep?.DnsEntries ?? []).map((d) => d.DnsName!).filter(Boolean);
  ctx.facts.endpointState = ep?.State;
}
