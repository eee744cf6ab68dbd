/** The IAM grants of step endpoint-service (provider account). */
import type { IamPermission } from '../../iam/policy.js';
import { SERVICE_CONNECTION_PERMISSIONS } from './service-connections.js';

export const ENDPOINT_SERVICE_PERMISSIONS: readonly IamPermission[] = [
  {
    why: 'find the endpoint service by tags',
    actions: ['ec2:DescribeVpcEndpointServiceConfigurations'],
    resources: ['*'],
    tagCondition: 'none',
  },
  {
    why: 'create the endpoint service with the managed-by tag',
    actions: ['ec2:CreateVpcEndpointServiceConfiguration'],
    resources: ['arn:aws:ec2:*:*:vpc-endpoint-service/*'],
    tagCondition: 'request',
  },
  {
    why: 'tag the endpoint service in its create call',
    actions: ['ec2:CreateTags'],
    resources: ['arn:aws:ec2:*:*:vpc-endpoint-service/*'],
    tagCondition: 'request',
    condition: { StringEquals: { 'ec2:CreateAction': 'CreateVpcEndpointServiceConfiguration' } },
  },
  {
    why: 'change principals and delete only endpoint services carrying the managed-by tag',
    actions: [
      'ec2:ModifyVpcEndpointServiceConfiguration',
      'ec2:ModifyVpcEndpointServicePermissions',
      'ec2:DeleteVpcEndpointServiceConfigurations',
    ],
    resources: ['arn:aws:ec2:*:*:vpc-endpoint-service/*'],
    tagCondition: 'resource',
  },
  // Unlike the other Describe calls, this one has resource-level permissions: our service only.
  {
    why: 'read the allowed principals of endpoint services carrying the managed-by tag',
    actions: ['ec2:DescribeVpcEndpointServicePermissions'],
    resources: ['arn:aws:ec2:*:*:vpc-endpoint-service/*'],
    tagCondition: 'resource',
  },
  ...SERVICE_CONNECTION_PERMISSIONS,
];
