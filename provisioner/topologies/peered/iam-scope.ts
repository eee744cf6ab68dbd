/**
 * What `iam-policy --topology peered --config FILE` narrows each statement to: the
 * configured VPCs, route tables, cluster security group and hosted zone, by ARN or by the
 * peering condition keys, in the account the policy is printed for.
 */
import type { PolicyScope } from '../../iam/policy.js';
import type { PeeredConfig, PeeredSide } from './config.js';

export function peeredConfigOf(scope: PolicyScope): PeeredConfig {
  return scope.config as PeeredConfig;
}

/** Which side the printed account is. */
export function sideOf(scope: PolicyScope): PeeredSide {
  return peeredConfigOf(scope).requester.accountId === scope.accountId ? 'requester' : 'accepter';
}

export function vpcArn(config: PeeredConfig, side: PeeredSide): string {
  const s = config[side];
  return `arn:aws:ec2:${s.region}:${s.accountId}:vpc/${s.vpcId}`;
}

/** The peering joins exactly the configured VPCs: `ec2:AccepterVpc` and `ec2:RequesterVpc`. */
export function peeringCondition(config: PeeredConfig) {
  return {
    ArnEquals: {
      'ec2:AccepterVpc': vpcArn(config, 'accepter'),
      'ec2:RequesterVpc': vpcArn(config, 'requester'),
    },
  };
}

/** The configured private hosted zone, or nothing (DNS check mode makes no Route 53 calls). */
export function zoneArns(scope: PolicyScope): string[] {
  const zone = peeredConfigOf(scope).dns.privateHostedZoneId;
  return zone === undefined ? [] : [`arn:aws:route53:::hostedzone/${zone}`];
}

/** The configured deployment reaches the peer through a Transit Gateway: no peering, routes only checked. */
export function usesTransitGateway(scope: PolicyScope): boolean {
  return peeredConfigOf(scope).transitGateway !== undefined;
}

/** What only a VPC-peering deployment touches: nothing when the config names a Transit Gateway. */
export function peeringOnly(scope: PolicyScope, resources: readonly string[]): string[] {
  return usesTransitGateway(scope) ? [] : [...resources];
}

/** `ec2:DescribeTransitGatewayAttachments` is called on a side only when its attachment is configured. */
export function attachmentReadResources(scope: PolicyScope, side: PeeredSide): string[] {
  const tgw = peeredConfigOf(scope).transitGateway;
  const configured = side === 'requester' ? tgw?.requesterAttachmentId : tgw?.accepterAttachmentId;
  return configured === undefined ? [] : ['*'];
}
