import type { Subnet } from '@aws-sdk/client-ec2';
import type { AccountConnection } from '../../aws/account.js';
import type { PreflightProblem } from '../../engine/preflight.js';
import type { IamPermission } from '../../iam/policy.js';
import { networkReadPermission, subnetsById, vpcsById } from '../shared/network-reads.js';
import type { GcpToAwsContext } from './context.js';

type Side = 'provider' | 'consumer';

interface SideView {
  readonly side: Side;
  readonly vpcFound: boolean;
  readonly subnets: ReadonlyMap<string, Subnet>;
}

function where(conn: AccountConnection): string {
  return `account ${conn.accountId} (${conn.region})`;
}

/** The VPC exists; each subnet exists, lies in that VPC, and no two share an availability zone. */
async function checkSide(ctx: GcpToAwsContext, side: Side, out: PreflightProblem[]): Promise<SideView> {
  const conn = ctx[side];
  const cfg = ctx.config[side];
  const [vpcs, subnets] = await Promise.all([vpcsById(conn, [cfg.vpcId]), subnetsById(conn, cfg.subnetIds)]);
  const vpcFound = vpcs.has(cfg.vpcId);
  if (!vpcFound) {
    out.push({
      account: side,
      key: `${side}.vpcId`,
      value: cfg.vpcId,
      problem: `does not exist in ${where(conn)}`,
      fix: `name a VPC of that account and region (aws ec2 describe-vpcs --region ${conn.region})${side === 'provider' ? ': the one the proxy fleet runs in' : ': the one the WireGuard peer runs in'}`,
    });
  }
  const zones = new Map<string, string>();
  cfg.subnetIds.forEach((id, i) => {
    const key = `${side}.subnetIds[${i}]`;
    const subnet = subnets.get(id);
    if (subnet === undefined) {
      out.push({
        account: side,
        key,
        value: id,
        problem: `does not exist in ${where(conn)}`,
        fix: `list the subnets of ${cfg.vpcId}: aws ec2 describe-subnets --region ${conn.region} --filters Name=vpc-id,Values=${cfg.vpcId}`,
      });
      return;
    }
    if (subnet.VpcId !== cfg.vpcId) {
      out.push({
        account: side,
        key,
        value: id,
        problem: `is in ${subnet.VpcId}, not in ${side}.vpcId ${cfg.vpcId}`,
        fix: `name subnets of ${cfg.vpcId}, or set ${side}.vpcId to ${subnet.VpcId}`,
      });
    }
    const zone = subnet.AvailabilityZone ?? '?';
    const first = zones.get(zone);
    if (first !== undefined) {
      out.push({
        account: side,
        key,
        value: id,
        problem: `is in availability zone ${zone}, like ${first}; ${side === 'provider' ? 'an NLB' : 'an interface endpoint'} takes one subnet per zone`,
        fix: `keep one subnet per availability zone: drop ${id} or ${first}`,
      });
    } else {
      zones.set(zone, id);
    }
  });
  return { side, vpcFound, subnets };
}

/**
 * An interface endpoint can only use zones the endpoint service (its NLB) is in. Zone names
 * differ between accounts; zone IDs (`use1-az1`) do not, so they are compared.
 */
function checkZonesServed(ctx: GcpToAwsContext, provider: SideView, consumer: SideView): PreflightProblem[] {
  const served = new Set([...provider.subnets.values()].map((s) => s.AvailabilityZoneId).filter(Boolean));
  if (served.size === 0) return [];
  const out: PreflightProblem[] = [];
  ctx.config.consumer.subnetIds.forEach((id, i) => {
    const zoneId = consumer.subnets.get(id)?.AvailabilityZoneId;
    if (zoneId === undefined || served.has(zoneId)) return;
    out.push({
      account: 'consumer',
      key: `consumer.subnetIds[${i}]`,
      value: id,
      problem: `is in zone ${zoneId}, where the provider NLB has no subnet (provider zones: ${[...served].sort().join(', ')})`,
      fix: `use a consumer subnet in one of ${[...served].sort().join(', ')}, or add a provider subnet in ${zoneId}`,
    });
  });
  return out;
}

/** Every problem of the gcp-to-aws config that the two accounts can show, all at once. */
export async function preflightGcpToAws(ctx: GcpToAwsContext): Promise<PreflightProblem[]> {
  const out: PreflightProblem[] = [];
  const [provider, consumer] = await Promise.all([
    checkSide(ctx, 'provider', out),
    checkSide(ctx, 'consumer', out),
  ]);
  out.push(...checkZonesServed(ctx, provider, consumer));
  // Stable order whatever answered first: provider, then consumer; by key within each.
  const rank = (p: PreflightProblem) => (p.account === 'provider' ? 0 : 1);
  return out.sort((a, b) => rank(a) - rank(b) || a.key.localeCompare(b.key));
}

export const GCP_TO_AWS_PREFLIGHT_PERMISSIONS: readonly IamPermission[] = [
  networkReadPermission('provider', ['DescribeVpcs', 'DescribeSubnets']),
  networkReadPermission('consumer', ['DescribeVpcs', 'DescribeSubnets']),
];
