import { defineErrorFamily } from '../../../common/error-family.js';

/** Stable codes of the peered topology's checks: code -> meaning and fix (rendered into docs/errors.md). */
export const ERROR_CATALOG = {
  EKL_PEERED_CIDR_NOT_IN_VPC:
    'A configured CIDR (requester.cidr or accepter.cidr) is not inside the CIDR blocks of its VPC. Fix the CIDR in the config to the VPC CIDR (or a part of it).',
  EKL_PEERED_PEERING_MISMATCH:
    'The peering connection found does not join the configured VPCs and accounts; ekslink never accepts a peering it did not request. Check requester/accepter vpcId and accountId.',
  EKL_PEERED_PEERING_FAILED:
    'The peering connection went to failed, rejected or expired (overlapping CIDRs, a wrong peer account or region). Run destroy, fix the config, then apply again.',
  EKL_PEERED_TGW_ATTACHMENT:
    'The Transit Gateway attachment named in transitGateway is missing, not available, or attaches another VPC or gateway. Fix the attachment or the config.',
  EKL_PEERED_ROUTE_TABLE:
    'A route table named in routeTableIds does not exist in that account or belongs to another VPC. Fix routeTableIds.',
  EKL_PEERED_ROUTE_CONFLICT:
    'A route table already routes the peer CIDR to another target; ekslink does not replace routes it did not create. Remove that route or pick another route table.',
  EKL_PEERED_TGW_ROUTE_MISSING:
    'Transit Gateway mode: a named route table has no route for the peer CIDR to the Transit Gateway. ekslink only checks TGW routes: add it (aws ec2 create-route --transit-gateway-id ...).',
  EKL_PEERED_SECURITY_GROUP:
    'The EKS cluster security group (eks.clusterSecurityGroupId) is not in the accepter VPC, or does not exist. Take it from aws eks describe-cluster.',
  EKL_PEERED_DNS_UNRESOLVED:
    'The EKS hostname does not resolve from here. Check eks.hostname; with public access off, public DNS answers it with private addresses.',
  EKL_PEERED_DNS_OUTSIDE_VPC:
    'The EKS hostname resolves to addresses outside accepter.cidr (public endpoint on, or a wrong cluster). Turn endpoint public access off, or name the private hosted zone in dns.privateHostedZoneId.',
  EKL_PEERED_ZONE_NOT_PRIVATE:
    'dns.privateHostedZoneId names a public hosted zone: only private zones are associated with VPCs.',
} as const;

export type PeeredErrorCode = keyof typeof ERROR_CATALOG;

/** A check of the peered topology failed; the message names the resource, what was found and the fix. */
export class PeeredError extends defineErrorFamily({
  name: 'PeeredError',
  catalog: ERROR_CATALOG,
  source: 'config',
}) {}
