/** Step vpc-endpoint: the endpoint's security group, created with TCP 443 from the allowed CIDRs and no egress, its drift repaired. */
import {
  AuthorizeSecurityGroupIngressCommand,
  DeleteSecurityGroupCommand,
  RevokeSecurityGroupEgressCommand,
  RevokeSecurityGroupIngressCommand,
  type IpPermission,
  type SecurityGroup,
} from '@aws-sdk/client-ec2';
import { AwsCallError } from '../../errors.js';
import { change } from '../../engine/step.js';
import { MSG } from '../../engine/messages.js';
import { emit } from '../../engine/output.js';
import { ignoreGone, type Op } from '../shared/ops.js';
import { createSecurityGroup } from './create-security-group.js';
import { resourceNames } from './config.js';
import type { GcpToAwsContext } from './context.js';
import { listSecurityGroups, type VpcEndpointState } from './endpoint-read.js';

const SG_GONE = ['InvalidGroup.NotFound', 'InvalidGroupId.NotFound'];

/** CIDRs allowed on TCP 443 by this group's ingress rules; anything else is drift. */
function ingressSummary(sg: SecurityGroup): { cidrs: string[]; other: IpPermission[] } {
  const cidrs: string[] = [];
  const other: IpPermission[] = [];
  for (const p of sg.IpPermissions ?? []) {
    const is443 = p.IpProtocol === 'tcp' && p.FromPort === 443 && p.ToPort === 443;
    if (is443) cidrs.push(...(p.IpRanges ?? []).map((r) => r.CidrIp!));
    const extra =
      !is443 ||
      (p.UserIdGroupPairs ?? []).length > 0 ||
      (p.Ipv6Ranges ?? []).length > 0 ||
      (p.PrefixListIds ?? []).length > 0;
    if (extra) other.push(is443 ? { ...p, IpRanges: [] } : p);
  }
  return { cidrs, other };
}

function rule443(cidrs: readonly string[]): IpPermission[] {
  return [
    {
      IpProtocol: 'tcp',
      FromPort: 443,
      ToPort: 443,
      IpRanges: cidrs.map((CidrIp) => ({ CidrIp, Description: 'ekslink: WireGuard peer' })),
    },
  ];
}

export function securityGroupOps(ctx: GcpToAwsContext, s: VpcEndpointState): Op[] {
  const conn = ctx.consumer;
  const deployment = ctx.config.deployment;
  const cidrs = [...ctx.config.consumer.allowedCidrs].sort();
  const name = resourceNames(deployment).securityGroup;
  const sg = s.securityGroups[0];
  if (!sg) {
    return [
      {
        change: change(
          'create',
          `security group ${name}`,
          `TCP 443 from ${cidrs.join(', ')} only, no egress`,
        ),
        run: async () => {
          const id = await createSecurityGroup(ctx, {
            conn: ctx.consumer,
            account: 'consumer',
            step: 'vpc-endpoint',
            name,
            vpcId: ctx.config.consumer.vpcId,
            description: `ekslink ${ctx.config.deployment}: TCP 443 to the VPC endpoint from the WireGuard peer`,
            listed: async (id) => (await listSecurityGroups(ctx)).some((g) => g.GroupId === id),
          });
          ctx.facts.securityGroupId = id;
          await authorize(ctx, id, cidrs);
          await revokeEgress(ctx, id, [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }]);
        },
      },
    ];
  }
  const label = `security group ${sg.GroupId}`;
  const id = sg.GroupId!;
  const { cidrs: have, other } = ingressSummary(sg);
  const add = cidrs.filter((c) => !have.includes(c));
  const remove = have.filter((c) => !cidrs.includes(c));
  const egress = sg.IpPermissionsEgress ?? [];
  const ops: Op[] = [];
  if (add.length > 0 || remove.length > 0 || other.length > 0) {
    const parts = [
      ...add.map((c) => `allow ${c}:443`),
      ...remove.map((c) => `revoke ${c}:443`),
      ...(other.length > 0 ? [`revoke ${other.length} rule(s) not on TCP 443`] : []),
    ];
    ops.push({
      change: change('update', label, parts.join('; ')),
      run: async () => {
        if (add.length > 0) await authorize(ctx, id, add);
        const revoke = [...(remove.length > 0 ? rule443(remove) : []), ...other];
        if (revoke.length > 0) {
          await conn.call('RevokeSecurityGroupIngress', label, () =>
            conn.ec2.send(
              new RevokeSecurityGroupIngressCommand({
                GroupId: id,
                IpPermissions: revoke.map(stripDescriptions),
              }),
            ),
          );
        }
      },
    });
  }
  if (egress.length > 0) {
    ops.push({
      change: change('update', label, `revoke ${egress.length} egress rule(s): the endpoint only answers`),
      run: () => revokeEgress(ctx, id, egress),
    });
  }
  return ops.length > 0 ? ops : [{ change: change('none', label, 'exists, matches config') }];
}

function stripDescriptions(p: IpPermission): IpPermission {
  return { ...p, IpRanges: p.IpRanges?.map((r) => ({ CidrIp: r.CidrIp })) };
}

/**
 * Allow TCP 443 from the CIDRs on our own group. A retry of an authorize AWS had already
 * carried out answers `InvalidPermission.Duplicate`: the rules are there, on our group, so
 * that is success; then each CIDR is authorized on its own so none is left out.
 */
async function authorize(ctx: GcpToAwsContext, groupId: string, cidrs: readonly string[]): Promise<void> {
  const send = (list: readonly string[]) =>
    ctx.consumer.call(
      'AuthorizeSecurityGroupIngress',
      `security group ${groupId}`,
      () =>
        ctx.consumer.ec2.send(
          new AuthorizeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: rule443(list) }),
        ),
      { alsoRetry: SG_GONE },
    );
  const duplicate = (err: unknown) =>
    err instanceof AwsCallError && err.awsCode === 'InvalidPermission.Duplicate';
  try {
    await send(cidrs);
    return;
  } catch (err) {
    if (!duplicate(err)) throw err;
  }
  for (const cidr of cidrs) {
    try {
      await send([cidr]);
    } catch (err) {
      if (!duplicate(err)) throw err;
      emit(
        ctx.sink,
        MSG.ALREADY_THERE,
        ctx.clock.now(),
        `TCP 443 from ${cidr} is already allowed on ${groupId}`,
        {
          step: 'vpc-endpoint',
          account: 'consumer',
          data: { operation: 'AuthorizeSecurityGroupIngress', resource: groupId, cidr },
        },
      );
    }
  }
}

async function revokeEgress(
  ctx: GcpToAwsContext,
  groupId: string,
  rules: readonly IpPermission[],
): Promise<void> {
  await ctx.consumer.call(
    'RevokeSecurityGroupEgress',
    `security group ${groupId}`,
    () =>
      ctx.consumer.ec2.send(
        new RevokeSecurityGroupEgressCommand({
          GroupId: groupId,
          IpPermissions: rules.map(stripDescriptions),
        }),
      ),
    { alsoRetry: SG_GONE },
  );
}

export async function deleteSecurityGroup(ctx: GcpToAwsContext, id: string): Promise<void> {
  await ignoreGone(SG_GONE, () =>
    ctx.consumer.call(
      'DeleteSecurityGroup',
      `security group ${id}`,
      () => ctx.consumer.ec2.send(new DeleteSecurityGroupCommand({ GroupId: id })),
      // The endpoint's ENIs release the group a little after the endpoint is deleted.
      { alsoRetry: ['DependencyViolation'] },
    ),
  );
}
