import { GetHostedZoneCommand } from '@aws-sdk/client-route-53';
import type { AccountConnection } from '../../aws/account.js';
import { AwsCallError } from '../../errors.js';
import type { PreflightProblem } from '../../engine/preflight.js';
import type { IamPermission } from '../../iam/policy.js';
import {
  networkReadPermission,
  routeTablesById,
  securityGroupsById,
  vpcCidrBlocks,
  vpcsById,
} from '../shared/network-reads.js';
import { cidrWithin, type PeeredSide } from './config.js';
import type { PeeredContext } from './context.js';

function where(conn: AccountConnection): string {
  return `account ${conn.accountId} (${conn.region})`;
}

/** The side's VPC exists, is owned by that account and holds the configured CIDR; its route tables are in it. */
async function checkSide(ctx: PeeredContext, side: PeeredSide): Promise<PreflightProblem[]> {
  const conn = ctx.side(side);
  const cfg = ctx.config[side];
  const out: PreflightProblem[] = [];
  const [vpcs, tables] = await Promise.all([
    vpcsById(conn, [cfg.vpcId]),
    routeTablesById(conn, cfg.routeTableIds),
  ]);
  const vpc = vpcs.get(cfg.vpcId);
  if (vpc === undefined) {
    out.push({
      account: side,
      key: `${side}.vpcId`,
      value: cfg.vpcId,
      problem: `does not exist in ${where(conn)}`,
      fix: `name a VPC of that account and region (aws ec2 describe-vpcs --region ${conn.region})`,
    });
  } else {
    if (vpc.OwnerId !== undefined && vpc.OwnerId !== cfg.accountId) {
      out.push({
        account: side,
        key: `${side}.vpcId`,
        value: cfg.vpcId,
        problem: `is owned by account ${vpc.OwnerId} (shared with ${cfg.accountId}); a peering joins VPCs of their owners`,
        fix: `run this side with the credentials of account ${vpc.OwnerId}, or name a VPC that ${cfg.accountId} owns`,
      });
    }
    const blocks = vpcCidrBlocks(vpc);
    if (!blocks.some((b) => cidrWithin(cfg.cidr, b))) {
      out.push({
        account: side,
        key: `${side}.cidr`,
        value: cfg.cidr,
        problem: `is not inside ${cfg.vpcId} (its CIDR blocks: ${blocks.join(', ') || 'none'})`,
        fix: `set ${side}.cidr to the VPC CIDR or a part of it, e.g. "${blocks[0] ?? '10.0.0.0/16'}"`,
      });
    }
  }
  cfg.routeTableIds.forEach((id, i) => {
    const table = tables.get(id);
    const key = `${side}.routeTableIds[${i}]`;
    if (table === undefined) {
      out.push({
        account: side,
        key,
        value: id,
        problem: `does not exist in ${where(conn)}`,
        fix: `name the route tables of ${cfg.vpcId}: aws ec2 describe-route-tables --region ${conn.region} --filters Name=vpc-id,Values=${cfg.vpcId}`,
      });
    } else if (table.VpcId !== cfg.vpcId) {
      out.push({
        account: side,
        key,
        value: id,
        problem: `belongs to ${table.VpcId}, not to ${side}.vpcId ${cfg.vpcId}`,
        fix: `name route tables of ${cfg.vpcId}`,
      });
    }
  });
  return out;
}

/** The EKS cluster security group exists in the accepter account and VPC. */
async function checkClusterGroup(ctx: PeeredContext): Promise<PreflightProblem[]> {
  const conn = ctx.accepter;
  const id = ctx.config.eks.clusterSecurityGroupId;
  const group = (await securityGroupsById(conn, [id])).get(id);
  const fix = `take it from aws eks describe-cluster --region ${conn.region} --name <cluster> --query cluster.resourcesVpcConfig.clusterSecurityGroupId`;
  if (group === undefined) {
    return [
      {
        account: 'accepter',
        key: 'eks.clusterSecurityGroupId',
        value: id,
        problem: `does not exist in ${where(conn)}`,
        fix,
      },
    ];
  }
  if (group.VpcId !== ctx.config.accepter.vpcId) {
    return [
      {
        account: 'accepter',
        key: 'eks.clusterSecurityGroupId',
        value: id,
        problem: `is in ${group.VpcId}, not in accepter.vpcId ${ctx.config.accepter.vpcId}`,
        fix: `${fix}, or fix accepter.vpcId`,
      },
    ];
  }
  return [];
}

/** The private hosted zone exists in the accepter (zone owner) account and is private. */
async function checkZone(ctx: PeeredContext): Promise<PreflightProblem[]> {
  const zoneId = ctx.config.dns.privateHostedZoneId;
  if (zoneId === undefined) return [];
  const conn = ctx.accepter;
  const base = { account: 'accepter', key: 'dns.privateHostedZoneId', value: zoneId };
  try {
    const out = await conn.call('GetHostedZone', `hosted zone ${zoneId}`, () =>
      conn.route53.send(new GetHostedZoneCommand({ Id: zoneId })),
    );
    if (out.HostedZone?.Config?.PrivateZone !== true) {
      return [
        {
          ...base,
          problem: `is the public hosted zone ${out.HostedZone?.Name ?? ''}; only private zones are associated with VPCs`,
          fix: 'name the private hosted zone that answers the EKS hostname (aws route53 list-hosted-zones)',
        },
      ];
    }
    return [];
  } catch (err) {
    if (!(err instanceof AwsCallError) || err.awsCode !== 'NoSuchHostedZone') throw err;
    return [
      {
        ...base,
        problem: `does not exist in account ${conn.accountId} (the zone must belong to the accepter account, which authorizes the association)`,
        fix: 'name a private hosted zone of the accepter account: aws route53 list-hosted-zones --query "HostedZones[?Config.PrivateZone]"',
      },
    ];
  }
}

/** Every problem of the peered config that the two accounts can show, all at once. */
export async function preflightPeered(ctx: PeeredContext): Promise<PreflightProblem[]> {
  const parts = await Promise.all([
    checkSide(ctx, 'requester'),
    checkSide(ctx, 'accepter'),
    checkClusterGroup(ctx),
    checkZone(ctx),
  ]);
  return parts.flat();
}

export const PEERED_PREFLIGHT_PERMISSIONS: readonly IamPermission[] = [
  networkReadPermission('requester', ['DescribeVpcs', 'DescribeRouteTables']),
  networkReadPermission('accepter', ['DescribeVpcs', 'DescribeRouteTables', 'DescribeSecurityGroups']),
];
