import {
  AuthorizeSecurityGroupIngressCommand,
  CreateVpcEndpointCommand,
  DeleteSecurityGroupCommand,
  DeleteVpcEndpointsCommand,
  DescribeSecurityGroupsCommand,
  DescribeVpcEndpointsCommand,
  ModifyVpcEndpointCommand,
  RevokeSecurityGroupEgressCommand,
  RevokeSecurityGroupIngressCommand,
  type IpPermission,
  type SecurityGroup,
  type VpcEndpoint,
} from '@aws-sdk/client-ec2';
import { AwsCallError } from '../../errors.js';
import { deploymentFilters, isDeploymentResource, tagSpecifications } from '../../aws/tags.js';
import { change, type Change, type Step } from '../../engine/step.js';
import { waitFor } from '../../engine/waiter.js';
import type { IamPermission, PolicyScope } from '../../iam/policy.js';
import { awsFailure, ignoreGone, runOps, type Op } from '../shared/ops.js';
import { chooseKeeper, duplicateReason, reportDuplicates, type Choice } from '../shared/duplicates.js';
import { collectPages } from '../shared/pages.js';
import { waitUntilListed } from '../shared/visibility.js';
import { clientToken } from '../../engine/client-token.js';
import { MSG } from '../../engine/messages.js';
import { emit } from '../../engine/output.js';
import { createSecurityGroup } from './create-security-group.js';
import { ENDPOINT_ADDRESS_PERMISSIONS, publishEndpointAddresses } from './endpoint-addresses.js';
import { resourceNames, type GcpToAwsConfig } from './config.js';
import type { GcpToAwsContext } from './context.js';

export interface VpcEndpointState {
  /** Kept first, then duplicates. */
  readonly securityGroups: readonly SecurityGroup[];
  /** This deployment's endpoints that still exist (not deleting/deleted): kept first, then duplicates. */
  readonly endpoints: readonly VpcEndpoint[];
  readonly endpointChoice: Choice<VpcEndpoint>;
  readonly groupChoice: Choice<SecurityGroup>;
}

/** States after which an endpoint will never carry traffic: replace it. */
const DEAD_STATES = ['rejected', 'failed', 'expired'];
const ENDPOINT_GONE = ['InvalidVpcEndpointId.NotFound', 'InvalidVpcEndpoint.NotFound'];
const SG_GONE = ['InvalidGroup.NotFound', 'InvalidGroupId.NotFound'];

/** This deployment's security groups in the consumer VPC, by tags: the read the next run makes. */
async function listSecurityGroups(ctx: GcpToAwsContext): Promise<SecurityGroup[]> {
  const conn = ctx.consumer;
  const deployment = ctx.config.deployment;
  const all = await collectPages('security groups', async (NextToken) => {
    const out = await conn.call('DescribeSecurityGroups', 'security groups', () =>
      conn.ec2.send(
        new DescribeSecurityGroupsCommand({
          Filters: [
            ...deploymentFilters(deployment),
            { Name: 'vpc-id', Values: [ctx.config.consumer.vpcId] },
          ],
          NextToken,
        }),
      ),
    );
    return { items: out.SecurityGroups ?? [], next: out.NextToken };
  });
  return all.filter((g) => isDeploymentResource(g.Tags, deployment));
}

/** This deployment's live endpoints in the consumer VPC, by tags (and VPC: tags alone are not an identity). */
async function listEndpoints(ctx: GcpToAwsContext): Promise<VpcEndpoint[]> {
  const conn = ctx.consumer;
  const deployment = ctx.config.deployment;
  const all = await collectPages('VPC endpoints', async (NextToken) => {
    const out = await conn.call('DescribeVpcEndpoints', 'VPC endpoints', () =>
      conn.ec2.send(
        new DescribeVpcEndpointsCommand({
          Filters: [
            ...deploymentFilters(deployment),
            { Name: 'vpc-id', Values: [ctx.config.consumer.vpcId] },
          ],
          NextToken,
        }),
      ),
    );
    return { items: out.VpcEndpoints ?? [], next: out.NextToken };
  });
  return all.filter(
    (e) =>
      isDeploymentResource(e.Tags, deployment) &&
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
const endpointId = (e: VpcEndpoint) => e.VpcEndpointId!;
const groupId = (g: SecurityGroup) => g.GroupId!;

async function readVpcEndpoint(ctx: GcpToAwsContext): Promise<VpcEndpointState> {
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

function publishEndpoint(ctx: GcpToAwsContext, ep: VpcEndpoint | undefined): void {
  ctx.facts.endpointId = ep?.VpcEndpointId;
  ctx.facts.endpointDnsNames = (ep?.DnsEntries ?? []).map((d) => d.DnsName!).filter(Boolean);
  ctx.facts.endpointState = ep?.State;
}

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

function securityGroupOps(ctx: GcpToAwsContext, s: VpcEndpointState): Op[] {
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

function endpointOps(ctx: GcpToAwsContext, s: VpcEndpointState): Op[] {
  const conn = ctx.consumer;
  const deployment = ctx.config.deployment;
  const ops: Op[] = [];
  const wantSubnets = [...ctx.config.consumer.subnetIds].sort();
  const ep = s.endpoints[0];
  const state0 = (ep?.State ?? '').toLowerCase();
  const replacing =
    ep !== undefined &&
    (DEAD_STATES.includes(state0) ||
      (ctx.facts.serviceName !== undefined && ep.ServiceName !== ctx.facts.serviceName))
      ? ep.VpcEndpointId
      : undefined;
  const create: Op = {
    change: change(
      'create',
      `VPC endpoint ${resourceNames(deployment).endpoint}`,
      `interface endpoint for ${ctx.facts.serviceName ?? 'the endpoint service of step endpoint-service'} in ${wantSubnets.join(', ')}`,
    ),
    run: async () => {
      const request = {
        VpcEndpointType: 'Interface' as const,
        VpcId: ctx.config.consumer.vpcId,
        ServiceName: ctx.facts.serviceName,
        SubnetIds: wantSubnets,
        SecurityGroupIds: [ctx.facts.securityGroupId!],
        PrivateDnsEnabled: false,
      };
      // Same request, same token: a rerun gets the endpoint a lost answer created. A replacement
      // names what it replaces, so it is a new endpoint.
      const token = clientToken(deployment, 'vpc-endpoint', { ...request, replacing: replacing ?? null });
      const out = await conn.call(
        'CreateVpcEndpoint',
        `VPC endpoint ${resourceNames(deployment).endpoint}`,
        () =>
          conn.ec2.send(
            new CreateVpcEndpointCommand({
              ...request,
              TagSpecifications: tagSpecifications(
                'vpc-endpoint',
                deployment,
                resourceNames(deployment).endpoint,
              ),
              ClientToken: token,
            }),
          ),
        // Right after the service allows this account, the name can take a moment to resolve.
        { alsoRetry: ['InvalidServiceName'] },
      );
      publishEndpoint(ctx, out.VpcEndpoint);
      await publishEndpointAddresses(ctx, out.VpcEndpoint);
      const id = out.VpcEndpoint!.VpcEndpointId!;
      await waitUntilListed(
        ctx,
        { step: 'vpc-endpoint', account: 'consumer' },
        `VPC endpoint ${id}`,
        async () => (await listEndpoints(ctx)).some((e) => e.VpcEndpointId === id),
        ctx.config.timeouts.endpointAvailableSec * 1000,
      );
    },
  };
  if (!ep) return [create];
  const label = `VPC endpoint ${ep.VpcEndpointId}`;
  const state = (ep.State ?? '').toLowerCase();
  if (
    DEAD_STATES.includes(state) ||
    (ctx.facts.serviceName !== undefined && ep.ServiceName !== ctx.facts.serviceName)
  ) {
    const why = DEAD_STATES.includes(state)
      ? `state is ${ep.State}`
      : `points at ${ep.ServiceName}, not ${ctx.facts.serviceName}`;
    ops.push(
      {
        change: change('delete', label, `${why}: replace it`),
        run: () => deleteEndpoint(ctx, ep.VpcEndpointId!),
      },
      create,
    );
  } else {
    const have = [...(ep.SubnetIds ?? [])].sort();
    const groups = (ep.Groups ?? []).map((g) => g.GroupId!);
    const wantGroup = ctx.facts.securityGroupId;
    const addSubnets = wantSubnets.filter((x) => !have.includes(x));
    const removeSubnets = have.filter((x) => !wantSubnets.includes(x));
    const groupsOk = wantGroup !== undefined && groups.length === 1 && groups[0] === wantGroup;
    if (addSubnets.length > 0 || removeSubnets.length > 0 || !groupsOk) {
      const parts = [
        ...(addSubnets.length || removeSubnets.length
          ? [`subnets ${have.join(',')} -> ${wantSubnets.join(',')}`]
          : []),
        ...(groupsOk
          ? []
          : [`security groups ${groups.join(',') || '(none)'} -> ${wantGroup ?? 'the group above'}`]),
      ];
      ops.push({
        change: change('update', label, parts.join('; ')),
        run: async () => {
          const want = ctx.facts.securityGroupId!;
          await conn.call('ModifyVpcEndpoint', label, () =>
            conn.ec2.send(
              new ModifyVpcEndpointCommand({
                VpcEndpointId: ep.VpcEndpointId,
                ...(addSubnets.length ? { AddSubnetIds: addSubnets } : {}),
                ...(removeSubnets.length ? { RemoveSubnetIds: removeSubnets } : {}),
                ...(groups.includes(want) ? {} : { AddSecurityGroupIds: [want] }),
                ...(groups.some((g) => g !== want)
                  ? { RemoveSecurityGroupIds: groups.filter((g) => g !== want) }
                  : {}),
              }),
            ),
          );
        },
      });
    }
    if (ops.length === 0) ops.push({ change: change('none', label, `exists (${ep.State})`) });
  }
  // Duplicates first, so plan shows them at the top of the step.
  const duplicates: Op[] = s.endpoints.slice(1).map((extra) => ({
    change: change(
      'delete',
      `VPC endpoint ${extra.VpcEndpointId}`,
      duplicateReason(s.endpointChoice, endpointId),
    ),
    run: () => deleteEndpoint(ctx, extra.VpcEndpointId!),
  }));
  return [...duplicates, ...ops];
}

/** Delete an endpoint and wait until it is gone (its ENIs hold the security group until then). */
async function deleteEndpoint(ctx: GcpToAwsContext, id: string): Promise<void> {
  const conn = ctx.consumer;
  await ignoreGone(ENDPOINT_GONE, () =>
    conn.call('DeleteVpcEndpoints', `VPC endpoint ${id}`, async () => {
      const out = await conn.ec2.send(new DeleteVpcEndpointsCommand({ VpcEndpointIds: [id] }));
      const failed = out.Unsuccessful?.[0];
      if (failed) throw awsFailure(failed.Error?.Code, failed.Error?.Message);
    }),
  );
  await waitFor(
    `deletion of VPC endpoint ${id}`,
    async () => {
      try {
        const out = await conn.call('DescribeVpcEndpoints', `VPC endpoint ${id}`, () =>
          conn.ec2.send(new DescribeVpcEndpointsCommand({ VpcEndpointIds: [id] })),
        );
        const state = (out.VpcEndpoints?.[0]?.State ?? 'deleted').toLowerCase();
        return state === 'deleted' ? { done: true, value: undefined } : { done: false, state };
      } catch (err) {
        if (err instanceof AwsCallError && ENDPOINT_GONE.includes(err.awsCode ?? ''))
          return { done: true, value: undefined };
        throw err;
      }
    },
    {
      clock: ctx.clock,
      timeoutMs: ctx.config.timeouts.endpointAvailableSec * 1000,
      intervalMs: ctx.pollIntervalMs,
    },
  );
}

function vpcEndpointOps(ctx: GcpToAwsContext, s: VpcEndpointState): Op[] {
  const ops = [...securityGroupOps(ctx, s), ...endpointOps(ctx, s)];
  // A duplicate group can only go once no endpoint uses it: after the endpoint ops.
  for (const extra of s.securityGroups.slice(1)) {
    ops.push({
      change: change('delete', `security group ${extra.GroupId}`, duplicateReason(s.groupChoice, groupId)),
      run: () => deleteSecurityGroup(ctx, extra.GroupId!),
    });
  }
  return ops;
}

async function deleteSecurityGroup(ctx: GcpToAwsContext, id: string): Promise<void> {
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

function consumerOf(scope: PolicyScope): GcpToAwsConfig['consumer'] {
  return (scope.config as GcpToAwsConfig).consumer;
}

function consumerArn(scope: PolicyScope, resource: string): string {
  return `arn:aws:ec2:${scope.region}:${scope.accountId}:${resource}`;
}

export const VPC_ENDPOINT_PERMISSIONS: readonly IamPermission[] = [
  {
    why: 'find the security group and VPC endpoint by tags',
    actions: ['ec2:DescribeSecurityGroups', 'ec2:DescribeVpcEndpoints'],
    resources: ['*'],
    tagCondition: 'none',
  },
  // Each create is tag-conditioned on the resource type it creates, and only there: an
  // unconditioned grant of the same action on that type would let untagged creates through.
  {
    why: 'create the security group with the managed-by tag',
    actions: ['ec2:CreateSecurityGroup'],
    resources: ['arn:aws:ec2:*:*:security-group/*'],
    tagCondition: 'request',
  },
  {
    why: 'create the VPC endpoint with the managed-by tag',
    actions: ['ec2:CreateVpcEndpoint'],
    resources: ['arn:aws:ec2:*:*:vpc-endpoint/*'],
    tagCondition: 'request',
    // With the config: only to an endpoint service of the provider account.
    scoped: (scope) => ({
      resources: [consumerArn(scope, 'vpc-endpoint/*')],
      condition: {
        StringEquals: { 'ec2:VpceServiceOwner': (scope.config as GcpToAwsConfig).provider.accountId },
      },
    }),
  },
  {
    why: 'create the security group in the configured VPC',
    actions: ['ec2:CreateSecurityGroup'],
    resources: ['arn:aws:ec2:*:*:vpc/*'],
    tagCondition: 'none',
    scoped: (scope) => ({ resources: [consumerArn(scope, `vpc/${consumerOf(scope).vpcId}`)] }),
  },
  {
    why: 'place the endpoint in the configured VPC and subnets',
    actions: ['ec2:CreateVpcEndpoint'],
    resources: ['arn:aws:ec2:*:*:vpc/*', 'arn:aws:ec2:*:*:subnet/*'],
    tagCondition: 'none',
    scoped: (scope) => ({
      resources: [
        consumerArn(scope, `vpc/${consumerOf(scope).vpcId}`),
        ...consumerOf(scope).subnetIds.map((id) => consumerArn(scope, `subnet/${id}`)),
      ],
    }),
  },
  // Repairing drift puts back the configured subnets and our group and takes off any other
  // subnet or group: one of the configured VPC, whichever it is (ModifyVpcEndpoint authorizes
  // each subnet and group named in the request, with ec2:Vpc).
  {
    why: 'move the endpoint between subnets and groups of the configured VPC',
    actions: ['ec2:ModifyVpcEndpoint'],
    resources: ['arn:aws:ec2:*:*:subnet/*', 'arn:aws:ec2:*:*:security-group/*'],
    tagCondition: 'none',
    scoped: (scope) => ({
      resources: [consumerArn(scope, 'subnet/*'), consumerArn(scope, 'security-group/*')],
      condition: { ArnEquals: { 'ec2:Vpc': consumerArn(scope, `vpc/${consumerOf(scope).vpcId}`) } },
    }),
  },
  {
    why: 'tag the security group and VPC endpoint in their create calls',
    actions: ['ec2:CreateTags'],
    resources: ['arn:aws:ec2:*:*:security-group/*', 'arn:aws:ec2:*:*:vpc-endpoint/*'],
    tagCondition: 'request',
    condition: { StringEquals: { 'ec2:CreateAction': ['CreateSecurityGroup', 'CreateVpcEndpoint'] } },
  },
  // The endpoint uses only the group this deployment creates, so that grant carries the tag too.
  {
    why: 'change rules of, attach and delete only security groups carrying the managed-by tag',
    actions: [
      'ec2:AuthorizeSecurityGroupIngress',
      'ec2:RevokeSecurityGroupIngress',
      'ec2:RevokeSecurityGroupEgress',
      'ec2:DeleteSecurityGroup',
      'ec2:CreateVpcEndpoint',
    ],
    resources: ['arn:aws:ec2:*:*:security-group/*'],
    tagCondition: 'resource',
  },
  {
    why: 'change and delete only VPC endpoints carrying the managed-by tag',
    actions: ['ec2:ModifyVpcEndpoint', 'ec2:DeleteVpcEndpoints'],
    resources: ['arn:aws:ec2:*:*:vpc-endpoint/*'],
    tagCondition: 'resource',
  },
  ...ENDPOINT_ADDRESS_PERMISSIONS,
];

/** Step 3, consumer: security group (TCP 443 from the allowed CIDRs) and the interface endpoint. */
export const vpcEndpointStep: Step<GcpToAwsContext, VpcEndpointState> = {
  id: 'vpc-endpoint',
  title: 'consumer: interface VPC endpoint and its security group (TCP 443 from allowed CIDRs)',
  account: 'consumer',
  permissions: VPC_ENDPOINT_PERMISSIONS,
  read: readVpcEndpoint,
  plan: (ctx, current): readonly Change[] => vpcEndpointOps(ctx, current).map((op) => op.change),
  apply: (ctx, current) => runOps(ctx, 'vpc-endpoint', 'consumer', vpcEndpointOps(ctx, current)),
  async destroy(ctx, current) {
    const done: Change[] = [];
    for (const ep of current.endpoints) {
      await deleteEndpoint(ctx, ep.VpcEndpointId!);
      done.push(change('delete', `VPC endpoint ${ep.VpcEndpointId}`, 'destroy'));
    }
    for (const sg of current.securityGroups) {
      await deleteSecurityGroup(ctx, sg.GroupId!);
      done.push(change('delete', `security group ${sg.GroupId}`, 'destroy'));
    }
    publishEndpoint(ctx, undefined);
    await publishEndpointAddresses(ctx, undefined);
    return done;
  },
};
