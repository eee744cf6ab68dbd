/** The IAM grants both peering steps share: reading VPCs, peerings and TGW attachments. */
import type { IamPermission, PolicyScope } from '../../iam/policy.js';
import type { PeeredSide } from './config.js';
import { attachmentReadResources } from './iam-scope.js';

export const EC2_DESCRIBE: IamPermission = {
  why: 'read VPCs and peering connections',
  actions: ['ec2:DescribeVpcs', 'ec2:DescribeVpcPeeringConnections'],
  resources: ['*'],
  tagCondition: 'none',
};

/** Only a side whose TGW attachment is configured reads it. */
export function attachmentRead(side: PeeredSide): IamPermission {
  return {
    why: 'read the TGW attachment',
    actions: ['ec2:DescribeTransitGatewayAttachments'],
    resources: ['*'],
    tagCondition: 'none',
    scoped: (scope) => ({ resources: attachmentReadResources(scope, side) }),
  };
}

/** The requester's peering connections, in its region and account. */
export function peeringArns(scope: PolicyScope): string {
  return `arn:aws:ec2:${scope.region}:${scope.accountId}:vpc-peering-connection/*`;
}
