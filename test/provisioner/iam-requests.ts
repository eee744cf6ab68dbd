/**
 * How one API request becomes the authorizations AWS makes for it: which actions, on which
 * resource ARNs, with which condition keys, per the Service Authorization Reference (SAR)
 * tables of EC2, ELBv2, Route 53 and STS. Every operation the provisioner calls has an entry;
 * any other one throws UnmappedActionError, so the IAM front refuses it rather than allow it.
 * Spec: fake-iam.md (section "Requests to authorizations").
 */
import type { AuthorizationRequest } from './iam-evaluate.js';
import {
  UnmappedActionError,
  request,
  required,
  type ApiCall,
  type Context,
  type Mapper,
  type ResourceFacts,
} from './iam-request-context.js';
import { EC2 } from './iam-requests-ec2.js';
import { ELB } from './iam-requests-elb.js';

export {
  MissingResourceError,
  NEW_ID,
  UnmappedActionError,
  listParam,
  type ApiCall,
  type PeeringFacts,
  type ResourceFacts,
} from './iam-request-context.js';

const STS: Readonly<Record<string, Mapper>> = {
  GetCallerIdentity: async (call) => [request(call, 'sts:GetCallerIdentity', '*')],
  AssumeRole: async (call) => [
    request(call, 'sts:AssumeRole', required(call.params, 'RoleArn', call), {
      ...(call.params.has('ExternalId') ? { 'sts:ExternalId': call.params.get('ExternalId')! } : {}),
      ...(call.params.has('RoleSessionName')
        ? { 'sts:RoleSessionName': call.params.get('RoleSessionName')! }
        : {}),
    }),
  ],
};

const zoneArn = (call: ApiCall) =>
  `arn:${call.partition}:route53:::hostedzone/${required(call.params, 'Id', call)}`;
const vpcsContext = (call: ApiCall): Context =>
  call.params.has('VPCId') ? { 'route53:VPCs': [call.params.get('VPCId')!] } : {};

/** Associate/disassociate also need ec2:DescribeVpcs (SAR: dependent action). */
const zoneAssociation: Mapper = async (call) => [
  request(call, `route53:${call.operation}`, zoneArn(call), vpcsContext(call)),
  request(call, 'ec2:DescribeVpcs', '*', { 'ec2:Region': call.region }),
];

const onZone: Mapper = async (call) => [
  request(call, `route53:${call.operation}`, zoneArn(call), vpcsContext(call)),
];

const ROUTE53: Readonly<Record<string, Mapper>> = {
  AssociateVPCWithHostedZone: zoneAssociation,
  DisassociateVPCFromHostedZone: zoneAssociation,
  CreateVPCAssociationAuthorization: onZone,
  DeleteVPCAssociationAuthorization: onZone,
  ListVPCAssociationAuthorizations: onZone,
  GetHostedZone: onZone,
  GetChange: async (call) => [
    request(
      call,
      'route53:GetChange',
      `arn:${call.partition}:route53:::change/${required(call.params, 'Id', call)}`,
    ),
  ],
  ListHostedZonesByVPC: async (call) => [
    request(call, 'route53:ListHostedZonesByVPC', '*', vpcsContext(call)),
    request(call, 'ec2:DescribeVpcs', '*', { 'ec2:Region': call.region }),
  ],
};

/** A table's own entry only: an operation named `constructor` finds nothing. */
function own(table: Readonly<Record<string, Mapper>>, operation: string): Mapper | undefined {
  return Object.hasOwn(table, operation) ? table[operation] : undefined;
}

function mapperFor(call: ApiCall): Mapper | undefined {
  switch (call.service) {
    case 'ec2':
      return own(EC2, call.operation);
    case 'elasticloadbalancing':
      return own(ELB, call.operation);
    case 'sts':
      return own(STS, call.operation);
    case 'route53':
      return own(ROUTE53, call.operation);
    default:
      return undefined;
  }
}

/** Every authorization AWS makes for the call; throws UnmappedActionError for a call without a mapping. */
export async function authorizationsFor(
  call: ApiCall,
  facts: ResourceFacts,
): Promise<AuthorizationRequest[]> {
  const mapper = mapperFor(call);
  if (mapper === undefined) throw new UnmappedActionError(call);
  return mapper(call, facts);
}

/** Route 53 is REST: the operation and its parameters come from the method and path. */
export function route53Call(
  method: string,
  url: URL,
  body: string,
): { operation: string; params: URLSearchParams } | undefined {
  const params = new URLSearchParams();
  const vpcId = /<VPCId>([^<]+)<\/VPCId>/.exec(body)?.[1] ?? url.searchParams.get('vpcid');
  if (vpcId) params.set('VPCId', vpcId);
  const path = url.pathname.replace(/\/+$/, '');
  const zone = /^\/2013-04-01\/hostedzone\/([^/]+)(?:\/([a-z]+))?$/.exec(path);
  if (zone) {
    params.set('Id', decodeURIComponent(zone[1]!).replace(/^\/?hostedzone\//, ''));
    const sub = zone[2];
    const operation =
      sub === undefined && method === 'GET'
        ? 'GetHostedZone'
        : sub === 'associatevpc' && method === 'POST'
          ? 'AssociateVPCWithHostedZone'
          : sub === 'disassociatevpc' && method === 'POST'
            ? 'DisassociateVPCFromHostedZone'
            : sub === 'authorizevpcassociation'
              ? method === 'GET'
                ? 'ListVPCAssociationAuthorizations'
                : 'CreateVPCAssociationAuthorization'
              : sub === 'deauthorizevpcassociation' && method === 'POST'
                ? 'DeleteVPCAssociationAuthorization'
                : undefined;
    return operation === undefined ? undefined : { operation, params };
  }
  const change = /^\/2013-04-01\/change\/([^/]+)$/.exec(path);
  if (change && method === 'GET') {
    params.set('Id', decodeURIComponent(change[1]!).replace(/^\/?change\//, ''));
    return { operation: 'GetChange', params };
  }
  if (path === '/2013-04-01/hostedzonesbyvpc' && method === 'GET')
    return { operation: 'ListHostedZonesByVPC', params };
  return undefined;
}
