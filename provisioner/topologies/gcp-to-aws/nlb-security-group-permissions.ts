/** The IAM grants for the NLB's own security group (provider account, step nlb). */
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
import type { IamPermission } from '../../iam/policy.js';
import { type GcpToAwsConfig } from './config.js';
import { onElb } from './nlb-iam.js';

export const NLB_SECURITY_GROUP_PERMISSIONS: readonly IamPermission[] = [
  {
    why: 'find the NLB security group by tags and read the VPC CIDR its outbound rules name',
    actions: ['ec2:DescribeSecurityGroups', 'ec2:DescribeVpcs'],
    resources: ['*'],
    tagCondition: 'none',
  },
  {
    why: 'create the NLB security group with the managed-by tag',
    actions: ['ec2:CreateSecurityGroup'],
    resources: ['arn:aws:ec2:*:*:security-group/*'],
    tagCondition: 'request',
  },
  {
    why: 'create the NLB security group in the configured VPC',
    actions: ['ec2:CreateSecurityGroup'],
    resources: ['arn:aws:ec2:*:*:vpc/*'],
    tagCondition: 'none',
    scoped: (scope) => ({
      resources: [
        `arn:aws:ec2:${scope.region}:${scope.accountId}:vpc/${(scope.config as GcpToAwsConfig).provider.vpcId}`,
      ],
    }),
  },
  {
    why: 'tag the NLB security group in its create call',
    actions: ['ec2:CreateTags'],
    resources: ['arn:aws:ec2:*:*:security-group/*'],
    tagCondition: 'request',
    condition: { StringEquals: { 'ec2:CreateAction': ['CreateSecurityGroup'] } },
  },
  {
    why: 'change the rules of and delete only the NLB security group carrying the managed-by tag',
    actions: [
      'ec2:AuthorizeSecurityGroupEgress',
      'ec2:RevokeSecurityGroupEgress',
      'ec2:RevokeSecurityGroupIngress',
      'ec2:DeleteSecurityGroup',
    ],
    resources: ['arn:aws:ec2:*:*:security-group/*'],
    tagCondition: 'resource',
  },
  {
    why: 'attach the NLB security group and turn PrivateLink inbound enforcement off',
    actions: ['elasticloadbalancing:SetSecurityGroups'],
    ...onElb(['loadBalancer']),
    tagCondition: 'resource',
  },
];
