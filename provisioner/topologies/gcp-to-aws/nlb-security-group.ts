/**
 * The NLB's own security group. AWS lets a Network Load Balancer have security groups only
 * if it was created with one, so the provisioner creates this group before the NLB and
 * passes it to CreateLoadBalancer. The fleet's security group then admits the data and
 * health ports from this group only: nothing else in the VPC reaches the proxies around
 * the NLB (and forges a PROXY v2 header).
 *
 * Rules: no inbound rule, with `EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic` off,
 * so PrivateLink traffic (already filtered by the consumer endpoint's group and the
 * service's acceptance) reaches the TCP 443 listener and no host in the VPC does. Outbound:
 * TCP 443 (the targets) and the health port (health checks obey outbound rules only) to the
 * VPC's CIDR, where the instances live.
 */
import {
  AuthorizeSecurityGroupEgressCommand,
  DeleteSecurityGroupCommand,
  DescribeSecurityGroupsCommand,
  DescribeVpcsCommand,
  RevokeSecurityGroupEgressCommand,
  RevokeSecurityGroupIngressCommand,
  type IpPermission,
  type SecurityGroup,
  type Vpc,
} from '@aws-sdk/client-ec2';
import { SetSecurityGroupsCommand, type LoadBalancer } from '@aws-sdk/client-elastic-load-balancing-v2';
import { change } from '../../engine/step.js';
import { ProvisionError } from '../../errors.js';
import { ignoreGone, type Op } from '../shared/ops.js';
import { listTagged } from '../shared/tagged-read.js';
import { resourceNames } from './config.js';
import { createSecurityGroup } from './create-security-group.js';
import type { GcpToAwsContext } from './context.js';

const SG_GONE = ['InvalidGroup.NotFound', 'InvalidGroupId.NotFound'];

/** The value ekslink sets: PrivateLink traffic is not held to inbound rules (there are none). */
export const PRIVATELINK_INBOUND_ENFORCEMENT = 'off';

export interface NlbSecurityGroupState {
  /** Groups tagged for this deployment in the provider VPC (more than one only after a fault). */
  readonly groups: readonly SecurityGroup[];
  /** The provider VPC's IPv4 CIDR blocks, primary first: where the targets are. */
  readonly vpcCidrs: readonly string[];
}

/** Read the tagged NLB security group and the VPC's CIDRs. */
export async function readNlbSecurityGroup(ctx: GcpToAwsContext): Promise<NlbSecurityGroupState> {
  const conn = ctx.provider;
  const deployment = ctx.config.deployment;
  const vpcId = ctx.config.provider.vpcId;
  const all = await listTagged(conn, deployment, {
    operation: 'DescribeSecurityGroups',
    what: `security groups of VPC ${vpcId}`,
    callWhat: 'security groups',
    filters: [{ Name: 'vpc-id', Values: [vpcId] }],
    send: (Filters, NextToken) => conn.ec2.send(new DescribeSecurityGroupsCommand({ Filters, NextToken })),
    page: (out) => ({ items: out.SecurityGroups, next: out.NextToken }),
    tags: (g) => g.Tags,
  });
  const name = resourceNames(deployment).nlbSecurityGroup;
  const groups = all.filter((g) => g.GroupName === name);
  // A VPC id that does not exist is reported by the create that needs it, not by plan.
  let v: Vpc | undefined;
  await ignoreGone(['InvalidVpcID.NotFound'], async () => {
    const out = await conn.call('DescribeVpcs', `VPC ${vpcId}`, () =>
      conn.ec2.send(new DescribeVpcsCommand({ VpcIds: [vpcId] })),
    );
    v = out.Vpcs?.[0];
  });
  const vpcCidrs = [
    ...new Set(
      [
        v?.CidrBlock,
        ...(v?.CidrBlockAssociationSet ?? [])
          .filter((a) => a.CidrBlockState?.State === undefined || a.CidrBlockState.State === 'associated')
          .map((a) => a.CidrBlock),
      ].filter((c): c is string => typeof c === 'string' && c !== ''),
    ),
  ];
  ctx.facts.nlbSecurityGroupId = groups[0]?.GroupId;
  ctx.facts.providerVpcCidrs = vpcCidrs;
  return { groups, vpcCidrs };
}

/** The outbound rules the group must have: TCP 443 and the health port to the VPC. */
function wantEgress(ctx: GcpToAwsContext, s: NlbSecurityGroupState): IpPermission[] {
  const port = ctx.config.provider.nlb.proxyHealthPort;
  return [443, port].map((p) => ({
    IpProtocol: 'tcp',
    FromPort: p,
    ToPort: p,
    IpRanges: s.vpcCidrs.map((CidrIp) => ({
      CidrIp,
      Description: p === 443 ? 'ekslink NLB: TLS to the proxies' : 'ekslink NLB: health checks',
    })),
  }));
}

/** `tcp:443>10.0.0.0/16` keys, one per (rule, CIDR), so rule sets compare regardless of grouping. */
function ruleKeys(rules: readonly IpPermission[]): string[] {
  const keys: string[] = [];
  for (const p of rules) {
    const port = `${p.IpProtocol}:${p.FromPort ?? '*'}-${p.ToPort ?? '*'}`;
    for (const r of p.IpRanges ?? []) keys.push(`${port}>${r.CidrIp}`);
    for (const r of p.Ipv6Ranges ?? []) keys.push(`${port}>${r.CidrIpv6}`);
    for (const r of p.UserIdGroupPairs ?? []) keys.push(`${port}>${r.GroupId}`);
    for (const r of p.PrefixListIds ?? []) keys.push(`${port}>${r.PrefixListId}`);
  }
  return keys.sort();
}

function strip(p: IpPermission): IpPermission {
  return {
    IpProtocol: p.IpProtocol,
    FromPort: p.FromPort,
    ToPort: p.ToPort,
    ...(p.IpRanges?.length ? { IpRanges: p.IpRanges.map((r) => ({ CidrIp: r.CidrIp })) } : {}),
    ...(p.Ipv6Ranges?.length ? { Ipv6Ranges: p.Ipv6Ranges.map((r) => ({ CidrIpv6: r.CidrIpv6 })) } : {}),
    ...(p.UserIdGroupPairs?.length
      ? { UserIdGroupPairs: p.UserIdGroupPairs.map((r) => ({ GroupId: r.GroupId })) }
      : {}),
    ...(p.PrefixListIds?.length
      ? { PrefixListIds: p.PrefixListIds.map((r) => ({ PrefixListId: r.PrefixListId })) }
      : {}),
  };
}

async function setEgress(ctx: GcpToAwsContext, id: string, have: IpPermission[], want: IpPermission[]) {
  const conn = ctx.provider;
  if (have.length > 0) {
    await conn.call(
      'RevokeSecurityGroupEgress',
      `security group ${id}`,
      () =>
        conn.ec2.send(new RevokeSecurityGroupEgressCommand({ GroupId: id, IpPermissions: have.map(strip) })),
      { alsoRetry: SG_GONE },
    );
  }
  await conn.call(
    'AuthorizeSecurityGroupEgress',
    `security group ${id}`,
    () => conn.ec2.send(new AuthorizeSecurityGroupEgressCommand({ GroupId: id, IpPermissions: want })),
    { alsoRetry: SG_GONE },
  );
}

/** Create the group, or put its rules back. Runs before the NLB is created (it needs the id). */
export function nlbSecurityGroupOps(ctx: GcpToAwsContext, s: NlbSecurityGroupState): Op[] {
  const conn = ctx.provider;
  const deployment = ctx.config.deployment;
  const name = resourceNames(deployment).nlbSecurityGroup;
  const want = wantEgress(ctx, s);
  const port = ctx.config.provider.nlb.proxyHealthPort;
  const sg = s.groups[0];
  const ops: Op[] = [];
  if (!sg) {
    ops.push({
      change: change(
        'create',
        `security group ${name}`,
        `the NLB's: no inbound (PrivateLink only), outbound TCP 443 and ${port} to ${s.vpcCidrs.join(', ')}`,
      ),
      run: async () => {
        const id = await createSecurityGroup(ctx, {
          conn,
          account: 'provider',
          step: 'nlb',
          name,
          vpcId: ctx.config.provider.vpcId,
          description: `ekslink ${deployment}: the NLB; PrivateLink in on TCP 443, out to the proxies`,
          listed: async (groupId) =>
            (await readNlbSecurityGroup(ctx)).groups.some((g) => g.GroupId === groupId),
        });
        ctx.facts.nlbSecurityGroupId = id;
        // A new group allows all outbound traffic: replace that rule with the two ports.
        await setEgress(ctx, id, [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }], want);
      },
    });
  } else {
    const id = sg.GroupId!;
    const label = `security group ${id}`;
    const ingress = sg.IpPermissions ?? [];
    if (ingress.length > 0) {
      ops.push({
        change: change(
          'update',
          label,
          `revoke ${ingress.length} inbound rule(s): only PrivateLink may reach the NLB`,
        ),
        run: async () => {
          await conn.call(
            'RevokeSecurityGroupIngress',
            label,
            () =>
              conn.ec2.send(
                new RevokeSecurityGroupIngressCommand({ GroupId: id, IpPermissions: ingress.map(strip) }),
              ),
            { alsoRetry: SG_GONE },
          );
        },
      });
    }
    const have = sg.IpPermissionsEgress ?? [];
    if (ruleKeys(have).join() !== ruleKeys(want).join()) {
      ops.push({
        change: change(
          'update',
          label,
          `outbound ${ruleKeys(have).join(', ') || '(none)'} -> ${ruleKeys(want).join(', ')}`,
        ),
        run: () => setEgress(ctx, id, have, want),
      });
    }
  }
  for (const extra of s.groups.slice(1)) {
    ops.push({
      change: change(
        'delete',
        `security group ${extra.GroupId}`,
        "duplicate carrying this deployment's tags",
      ),
      run: () => deleteNlbSecurityGroup(ctx, extra.GroupId!),
    });
  }
  return ops;
}

/**
 * What the load balancer's own security-group settings need: the group attached and the
 * PrivateLink enforcement off. An NLB created without a group can never get one.
 */
export function loadBalancerGroupOps(ctx: GcpToAwsContext, lb: LoadBalancer): Op[] {
  const name = resourceNames(ctx.config.deployment).loadBalancer;
  const groups = lb.SecurityGroups ?? [];
  if (groups.length === 0) {
    throw new ProvisionError(
      'EKL_PROVISION_NLB_NO_SECURITY_GROUP',
      `load balancer ${name} (${lb.LoadBalancerArn}) has no security group, and AWS cannot add one to an NLB created without one; without it any host in the VPC can reach the proxies around the NLB. Run \`ekslink provision destroy\` and then \`ekslink provision apply\` (a new NLB, endpoint service and endpoint), then deploy the fleet with the new outputs file`,
      { source: 'config' },
    );
  }
  const wantGroup = ctx.facts.nlbSecurityGroupId;
  const enforcement = lb.EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic;
  const groupsOk = wantGroup === undefined ? true : groups.length === 1 && groups[0] === wantGroup;
  if (groupsOk && enforcement === PRIVATELINK_INBOUND_ENFORCEMENT) return [];
  const parts = [
    ...(groupsOk ? [] : [`security groups ${groups.join(',')} -> ${wantGroup ?? 'the group above'}`]),
    ...(enforcement === PRIVATELINK_INBOUND_ENFORCEMENT
      ? []
      : [
          `inbound rules on PrivateLink traffic ${enforcement ?? '(unset)'} -> ${PRIVATELINK_INBOUND_ENFORCEMENT}`,
        ]),
  ];
  return [
    {
      change: change('update', `load balancer ${name}`, parts.join('; ')),
      run: () => setLoadBalancerGroups(ctx, lb.LoadBalancerArn!),
    },
  ];
}

/** Attach exactly the NLB group and turn PrivateLink inbound enforcement off. */
export async function setLoadBalancerGroups(ctx: GcpToAwsContext, arn: string): Promise<void> {
  await ctx.provider.call(
    'SetSecurityGroups',
    `load balancer ${arn}`,
    () =>
      ctx.provider.elbv2.send(
        new SetSecurityGroupsCommand({
          LoadBalancerArn: arn,
          SecurityGroups: [ctx.facts.nlbSecurityGroupId!],
          EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic: PRIVATELINK_INBOUND_ENFORCEMENT,
        }),
      ),
    { alsoRetry: ['LoadBalancerNotFound'] },
  );
}

export async function deleteNlbSecurityGroup(ctx: GcpToAwsContext, id: string): Promise<void> {
  await ignoreGone(SG_GONE, () =>
    ctx.provider.call(
      'DeleteSecurityGroup',
      `security group ${id}`,
      () => ctx.provider.ec2.send(new DeleteSecurityGroupCommand({ GroupId: id })),
      // The deleted NLB's network interfaces release the group a little later.
      { alsoRetry: ['DependencyViolation'] },
    ),
  );
}
