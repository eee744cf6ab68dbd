/** The IAM grants of step nlb (provider account). */
import type { IamPermission } from '../../iam/policy.js';
import { onElb } from './nlb-iam.js';
import { NLB_SECURITY_GROUP_PERMISSIONS } from './nlb-security-group-permissions.js';

export const NLB_PERMISSIONS: readonly IamPermission[] = [
  {
    why: 'find the NLB, target group and listener by tags and read their settings',
    actions: [
      'elasticloadbalancing:DescribeLoadBalancers',
      'elasticloadbalancing:DescribeTargetGroups',
      'elasticloadbalancing:DescribeListeners',
      'elasticloadbalancing:DescribeTags',
      'elasticloadbalancing:DescribeLoadBalancerAttributes',
      'elasticloadbalancing:DescribeTargetGroupAttributes',
      'elasticloadbalancing:DescribeListenerAttributes',
    ],
    resources: ['*'],
    tagCondition: 'none',
  },
  // ELBv2 ARNs carry the names, so every grant below is held to ekslink's names (the
  // deployment's own with --config) as well as to the managed-by tag. CreateListener
  // authorizes the load balancer it is added to (Service Authorization Reference).
  // Internal only: the role cannot put an internet-facing load balancer in front of the proxies.
  {
    why: 'create the internal NLB with the managed-by tag',
    actions: ['elasticloadbalancing:CreateLoadBalancer'],
    ...onElb(['loadBalancer']),
    tagCondition: 'request',
    condition: { StringEquals: { 'elasticloadbalancing:Scheme': 'internal' } },
  },
  {
    why: 'add the listener to the NLB, with the managed-by tag',
    actions: ['elasticloadbalancing:CreateListener'],
    ...onElb(['loadBalancer']),
    tagCondition: 'request',
  },
  {
    why: 'create the target group with the managed-by tag',
    actions: ['elasticloadbalancing:CreateTargetGroup'],
    ...onElb(['targetGroup']),
    tagCondition: 'request',
  },
  // Tags only as part of those creates: AddTags alone could put the managed-by tag on any
  // load balancer and so hand it to the grants below.
  {
    why: 'tag the NLB, target group and listener in their create calls',
    actions: ['elasticloadbalancing:AddTags'],
    ...onElb(['loadBalancer', 'targetGroup', 'listener']),
    tagCondition: 'request',
    condition: {
      StringEquals: {
        'elasticloadbalancing:CreateAction': ['CreateLoadBalancer', 'CreateTargetGroup', 'CreateListener'],
      },
    },
  },
  {
    why: 'change and delete only the NLB carrying the managed-by tag',
    actions: [
      'elasticloadbalancing:ModifyLoadBalancerAttributes',
      'elasticloadbalancing:SetSubnets',
      'elasticloadbalancing:DeleteLoadBalancer',
    ],
    ...onElb(['loadBalancer']),
    tagCondition: 'resource',
  },
  {
    why: 'change and delete only the target group carrying the managed-by tag',
    actions: [
      'elasticloadbalancing:ModifyTargetGroup',
      'elasticloadbalancing:ModifyTargetGroupAttributes',
      'elasticloadbalancing:DeleteTargetGroup',
    ],
    ...onElb(['targetGroup']),
    tagCondition: 'resource',
  },
  {
    why: 'change and delete only the listener carrying the managed-by tag',
    actions: [
      'elasticloadbalancing:ModifyListener',
      'elasticloadbalancing:ModifyListenerAttributes',
      'elasticloadbalancing:DeleteListener',
    ],
    ...onElb(['listener']),
    tagCondition: 'resource',
  },
  ...NLB_SECURITY_GROUP_PERMISSIONS,
];
