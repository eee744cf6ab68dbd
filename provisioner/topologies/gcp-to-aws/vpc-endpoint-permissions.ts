/** The IAM grants of step vpc-endpoint (consumer account). */
import type { IamPermission, PolicyScope } from '../../iam/policy.js';
import { ENDPOINT_ADDRESS_PERMISSIONS } from './endpoint-addresses.js';
import type { GcpToAwsConfig } from './config.js';

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
