import {
  AuthorizeSecurityGroupIngressCommand,
  DescribeSecurityGroupRulesCommand,
  DescribeSecurityGroupsCommand,
  RevokeSecurityGroupIngressCommand,
  type SecurityGroupRule,
} from '@aws-sdk/client-ec2';
import { isDeploymentResource, tagSpecifications } from '../../aws/tags.js';
import { AwsCallError } from '../../errors.js';
import { MSG } from '../../engine/messages.js';
import { emit } from '../../engine/output.js';
import { change, type Change, type Step } from '../../engine/step.js';
import type { IamPermission } from '../../iam/policy.js';
import { peeredNames } from './config.js';
import { peeredConfigOf } from './iam-scope.js';
import type { PeeredContext } from './context.js';
import { PeeredError } from './errors.js';
import { ignoreGone, runOps, type Op } from '../shared/ops.js';
import { collectPages } from '../shared/pages.js';

export interface SecurityGroupState {
  /** VPC of the cluster security group; undefined when the group does not exist. */
  readonly groupVpcId: string | undefined;
  readonly rules: readonly SecurityGroupRule[];
}

const RULE_GONE = [
  'InvalidSecurityGroupRuleId.NotFound',
  'InvalidPermission.NotFound',
  'InvalidGroup.NotFound',
];

function isWanted(ctx: PeeredContext, r: SecurityGroupRule): boolean {
  return (
    r.IsEgress === false &&
    r.IpProtocol === 'tcp' &&
    r.FromPort === 443 &&
    r.ToPort === 443 &&
    r.CidrIpv4 === ctx.config.requester.cidr
  );
}

async function readSecurityGroup(ctx: PeeredContext): Promise<SecurityGroupState> {
  const conn = ctx.accepter;
  const groupId = ctx.config.eks.clusterSecurityGroupId;
  let groupVpcId: string | undefined;
  try {
    const out = await conn.call('DescribeSecurityGroups', `security group ${groupId}`, () =>
      conn.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [groupId] })),
    );
    groupVpcId = out.SecurityGroups?.[0]?.VpcId;
  } catch (err) {
    if ((err as { awsCode?: string }).awsCode === 'InvalidGroup.NotFound')
      return { groupVpcId: undefined, rules: [] };
    throw err;
  }
  const rules = await listRules(ctx);
  const ours = rules.find((r) => isDeploymentResource(r.Tags, ctx.config.deployment) && isWanted(ctx, r));
  ctx.facts.securityGroupRuleId = ours?.SecurityGroupRuleId;
  return { groupVpcId, rules };
}

function sgOps(ctx: PeeredContext, s: SecurityGroupState): Op[] {
  const { eks, accepter, requester, deployment } = ctx.config;
  const groupId = eks.clusterSecurityGroupId;
  if (s.groupVpcId !== accepter.vpcId) {
    throw new PeeredError(
      'EKL_PEERED_SECURITY_GROUP',
      `eks.clusterSecurityGroupId ${groupId} ${s.groupVpcId === undefined ? `not found in account ${accepter.accountId}` : `is in ${s.groupVpcId}, not ${accepter.vpcId}`}`,
    );
  }
  const label = `ingress TCP 443 from ${requester.cidr} on ${groupId}`;
  const ours = s.rules.filter((r) => isDeploymentResource(r.Tags, deployment));
  const ops: Op[] = ours
    .filter((r) => !isWanted(ctx, r))
    .map((r) => ({
      change: change(
        'delete',
        `rule ${r.SecurityGroupRuleId} on ${groupId}`,
        `${r.IpProtocol} ${r.FromPort} from ${r.CidrIpv4 ?? r.ReferencedGroupInfo?.GroupId}: no longer configured`,
      ),
      run: () => revoke(ctx, r.SecurityGroupRuleId!),
    }));
  const mine = ours.find((r) => isWanted(ctx, r));
  const foreign = s.rules.find((r) => !isDeploymentResource(r.Tags, deployment) && isWanted(ctx, r));
  if (mine) {
    ops.push({ change: change('none', label, `rule ${mine.SecurityGroupRuleId}`) });
  } else if (foreign) {
    ops.push({
      change: change(
        'none',
        label,
        `an identical rule ${foreign.SecurityGroupRuleId} exists (not created by ekslink): left alone`,
      ),
    });
  } else {
    ops.push({
      change: change('create', label, 'only the metadata plane CIDR, only TCP 443'),
      run: () => authorize(ctx, label),
    });
  }
  return ops;
}

/** Rules of the cluster security group, all pages. */
async function listRules(ctx: PeeredContext): Promise<SecurityGroupRule[]> {
  const conn = ctx.accepter;
  const groupId = ctx.config.eks.clusterSecurityGroupId;
  return collectPages(
    `rules of ${groupId}`,
    async (NextToken) => {
      const out = await conn.call('DescribeSecurityGroupRules', `rules of ${groupId}`, () =>
        conn.ec2.send(
          new DescribeSecurityGroupRulesCommand({
            Filters: [{ Name: 'group-id', Values: [groupId] }],
            NextToken,
          }),
        ),
      );
      return { items: out.SecurityGroupRules ?? [], next: out.NextToken };
    },
    20,
  );
}

/**
 * Add the tagged TCP 443 rule. The call has no idempotency token: after an unanswered try
 * the rules are read again before asking twice, and `InvalidPermission.Duplicate` (a retry of
 * an authorize AWS had carried out) is success when the rule there is ours, or an identical
 * rule someone else made, which stays theirs.
 */
async function authorize(ctx: PeeredContext, label: string): Promise<void> {
  const conn = ctx.accepter;
  const { eks, requester, deployment } = ctx.config;
  const present = async (): Promise<string | undefined> => {
    const rules = (await listRules(ctx)).filter((r) => isWanted(ctx, r));
    const rule = rules.find((r) => isDeploymentResource(r.Tags, deployment)) ?? rules[0];
    return rule?.SecurityGroupRuleId;
  };
  let ruleId: string | undefined;
  try {
    ruleId = await conn.call(
      'AuthorizeSecurityGroupIngress',
      label,
      async () => {
        const out = await conn.ec2.send(
          new AuthorizeSecurityGroupIngressCommand({
            GroupId: eks.clusterSecurityGroupId,
            IpPermissions: [
              {
                IpProtocol: 'tcp',
                FromPort: 443,
                ToPort: 443,
                IpRanges: [
                  { CidrIp: requester.cidr, Description: peeredNames(deployment).sgRuleDescription },
                ],
              },
            ],
            TagSpecifications: tagSpecifications('security-group-rule', deployment),
          }),
        );
        return out.SecurityGroupRules?.[0]?.SecurityGroupRuleId;
      },
      { recheck: present },
    );
  } catch (err) {
    if (!(err instanceof AwsCallError) || err.awsCode !== 'InvalidPermission.Duplicate') throw err;
    ruleId = await present();
    if (ruleId === undefined) throw err;
    emit(ctx.sink, MSG.ALREADY_THERE, ctx.clock.now(), `${label} is already there: rule ${ruleId}`, {
      step: 'eks-security-group',
      account: 'accepter',
      data: { operation: 'AuthorizeSecurityGroupIngress', resource: ruleId },
    });
  }
  ctx.facts.securityGroupRuleId = ruleId;
}

async function revoke(ctx: PeeredContext, ruleId: string): Promise<void> {
  const conn = ctx.accepter;
  const groupId = ctx.config.eks.clusterSecurityGroupId;
  await ignoreGone(RULE_GONE, () =>
    conn.call('RevokeSecurityGroupIngress', `rule ${ruleId} on ${groupId}`, () =>
      conn.ec2.send(
        new RevokeSecurityGroupIngressCommand({ GroupId: groupId, SecurityGroupRuleIds: [ruleId] }),
      ),
    ),
  );
}

const PERMISSIONS: readonly IamPermission[] = [
  {
    why: 'read the cluster security group and its rules',
    actions: ['ec2:DescribeSecurityGroups', 'ec2:DescribeSecurityGroupRules'],
    resources: ['*'],
    tagCondition: 'none',
  },
  {
    why: 'add and remove the TCP 443 rule on the EKS cluster security group',
    actions: ['ec2:AuthorizeSecurityGroupIngress', 'ec2:RevokeSecurityGroupIngress'],
    resources: ['arn:aws:ec2:*:*:security-group/*'],
    tagCondition: 'none',
    scoped: (scope) => ({
      resources: [
        `arn:aws:ec2:${scope.region}:${scope.accountId}:security-group/${peeredConfigOf(scope).eks.clusterSecurityGroupId}`,
      ],
    }),
  },
  {
    why: 'create the rule with the deployment tags',
    actions: ['ec2:AuthorizeSecurityGroupIngress'],
    resources: ['arn:aws:ec2:*:*:security-group-rule/*'],
    tagCondition: 'request',
  },
  {
    why: 'tag the rule in its create call',
    actions: ['ec2:CreateTags'],
    resources: ['arn:aws:ec2:*:*:security-group-rule/*'],
    tagCondition: 'request',
    condition: { StringEquals: { 'ec2:CreateAction': 'AuthorizeSecurityGroupIngress' } },
  },
];

/** Step 3 (accepter): TCP 443 from the metadata-plane CIDR only, on the EKS cluster security group; tagged. */
export const securityGroupStep: Step<PeeredContext, SecurityGroupState> = {
  id: 'eks-security-group',
  title: 'accepter: allow TCP 443 from the metadata plane CIDR on the EKS cluster security group',
  account: 'accepter',
  permissions: PERMISSIONS,
  read: readSecurityGroup,
  plan: (ctx, s) => sgOps(ctx, s).map((o) => o.change),
  apply: (ctx, s) => runOps(ctx, 'eks-security-group', 'accepter', sgOps(ctx, s)),
  async destroy(ctx, s) {
    const deleted: Change[] = [];
    for (const r of s.rules.filter((x) => isDeploymentResource(x.Tags, ctx.config.deployment))) {
      await revoke(ctx, r.SecurityGroupRuleId!);
      deleted.push(
        change(
          'delete',
          `rule ${r.SecurityGroupRuleId} on ${ctx.config.eks.clusterSecurityGroupId}`,
          'tagged for this deployment',
        ),
      );
    }
    return deleted;
  },
};
