/**
 * EC2 requests to authorizations, per the Service Authorization Reference rows of the EC2
 * actions the provisioner calls. Spec: fake-iam.md (section "Requests to authorizations").
 */
import type { AuthorizationRequest } from './iam-evaluate.js';
import {
  MissingResourceError,
  NEW_ID,
  listParam,
  request,
  requestTagContext,
  required,
  resourceTagContext,
  type ApiCall,
  type Context,
  type Mapper,
  type PeeringFacts,
  type ResourceFacts,
} from './iam-request-context.js';

const ec2Arn = (call: ApiCall, type: string, id: string, region = call.region, account = call.account) =>
  `arn:${call.partition}:ec2:${region}:${account}:${type}/${id}`;

/** Tags an EC2 create carries in TagSpecification.N, for the resource type it creates. */
function ec2RequestTags(params: URLSearchParams, resourceType: string): Record<string, string> {
  const tags: Record<string, string> = {};
  for (let i = 1; params.has(`TagSpecification.${i}.ResourceType`); i++) {
    if (params.get(`TagSpecification.${i}.ResourceType`) !== resourceType) continue;
    for (let j = 1; params.has(`TagSpecification.${i}.Tag.${j}.Key`); j++) {
      tags[params.get(`TagSpecification.${i}.Tag.${j}.Key`)!] =
        params.get(`TagSpecification.${i}.Tag.${j}.Value`) ?? '';
    }
  }
  return tags;
}

async function ec2Existing(
  call: ApiCall,
  facts: ResourceFacts,
  type: string,
  id: string,
  extra: Context = {},
): Promise<AuthorizationRequest> {
  const tags = await facts.ec2Tags(call.account, call.region, id);
  if (tags === undefined) throw new MissingResourceError(`${type} ${id} does not exist in ${call.account}`);
  return request(call, `ec2:${call.operation}`, ec2Arn(call, type, id), {
    'ec2:Region': call.region,
    ...resourceTagContext('ec2', tags),
    ...extra,
  });
}

/** The created resource plus, when the create carries tags, ec2:CreateTags with ec2:CreateAction. */
function ec2Created(call: ApiCall, type: string, extra: Context = {}): AuthorizationRequest[] {
  const tags = ec2RequestTags(call.params, type);
  const arn = ec2Arn(call, type, NEW_ID);
  const context = { 'ec2:Region': call.region, ...requestTagContext(tags), ...extra };
  const out = [request(call, `ec2:${call.operation}`, arn, context)];
  if (Object.keys(tags).length > 0)
    out.push(request(call, 'ec2:CreateTags', arn, { ...context, 'ec2:CreateAction': call.operation }));
  return out;
}

const ec2Describe: Mapper = async (call) => [
  request(call, `ec2:${call.operation}`, '*', { 'ec2:Region': call.region }),
];

async function securityGroupRequest(call: ApiCall, facts: ResourceFacts, groupId: string) {
  const vpc = await facts.vpcOf(call.account, call.region, groupId);
  return ec2Existing(call, facts, 'security-group', groupId, {
    'ec2:SecurityGroupID': groupId,
    ...(vpc ? { 'ec2:Vpc': ec2Arn(call, 'vpc', vpc) } : {}),
  });
}

/** Authorize: the group, plus the new rule (and its tagging) when the call tags the rule. */
const authorizeRule: Mapper = async (call, facts) => {
  const group = await securityGroupRequest(call, facts, required(call.params, 'GroupId', call));
  const tagged = Object.keys(ec2RequestTags(call.params, 'security-group-rule')).length > 0;
  return [group, ...(tagged ? ec2Created(call, 'security-group-rule') : [])];
};

const onGroup: Mapper = async (call, facts) => [
  await securityGroupRequest(call, facts, required(call.params, 'GroupId', call)),
];

const onRouteTable: Mapper = async (call, facts) => {
  const id = required(call.params, 'RouteTableId', call);
  const vpc = await facts.vpcOf(call.account, call.region, id);
  return [
    await ec2Existing(call, facts, 'route-table', id, {
      'ec2:RouteTableID': id,
      ...(vpc ? { 'ec2:Vpc': ec2Arn(call, 'vpc', vpc) } : {}),
    }),
  ];
};

const onService =
  (param: string): Mapper =>
  async (call, facts) => {
    const ids = param.endsWith('.N')
      ? listParam(call.params, param.slice(0, -2))
      : [required(call.params, param, call)];
    return Promise.all(ids.map((id) => ec2Existing(call, facts, 'vpc-endpoint-service', id)));
  };

async function peeringRequest(call: ApiCall, facts: ResourceFacts, id: string) {
  const p = await facts.peering(call.account, call.region, id);
  if (p === undefined)
    throw new MissingResourceError(`vpc-peering-connection ${id} is not visible to ${call.account}`);
  const vpcArn = (side: PeeringFacts['requester']) =>
    `arn:${call.partition}:ec2:${side.region}:${side.account}:vpc/${side.vpcId}`;
  return {
    facts: p,
    // The connection's ARN names its owner, the requester account, in the region of the call.
    request: request(
      call,
      `ec2:${call.operation}`,
      ec2Arn(call, 'vpc-peering-connection', id, call.region, p.requester.account),
      {
        'ec2:Region': call.region,
        'ec2:AccepterVpc': vpcArn(p.accepter),
        'ec2:RequesterVpc': vpcArn(p.requester),
        'ec2:VpcPeeringConnectionID': id,
        ...resourceTagContext('ec2', p.tags),
      },
    ),
  };
}

const EC2_CALLS: Readonly<Record<string, Mapper>> = {
  CreateSecurityGroup: async (call, facts) => {
    const vpcId = required(call.params, 'VpcId', call);
    return [
      ...ec2Created(call, 'security-group'),
      await ec2Existing(call, facts, 'vpc', vpcId, { 'ec2:VpcID': vpcId }),
    ];
  },
  AuthorizeSecurityGroupIngress: authorizeRule,
  AuthorizeSecurityGroupEgress: authorizeRule,
  RevokeSecurityGroupIngress: onGroup,
  RevokeSecurityGroupEgress: onGroup,
  DeleteSecurityGroup: onGroup,
  CreateVpcEndpoint: async (call, facts) => {
    const vpcId = required(call.params, 'VpcId', call);
    const serviceName = required(call.params, 'ServiceName', call);
    const owner = await facts.endpointServiceOwner(call.region, serviceName);
    const out = [
      ...ec2Created(call, 'vpc-endpoint', {
        'ec2:VpceServiceName': serviceName,
        ...(owner ? { 'ec2:VpceServiceOwner': owner } : {}),
      }),
      await ec2Existing(call, facts, 'vpc', vpcId, { 'ec2:VpcID': vpcId }),
    ];
    for (const id of listParam(call.params, 'SubnetId'))
      out.push(await ec2Existing(call, facts, 'subnet', id, { 'ec2:SubnetID': id }));
    for (const id of listParam(call.params, 'SecurityGroupId'))
      out.push(await ec2Existing(call, facts, 'security-group', id, { 'ec2:SecurityGroupID': id }));
    for (const id of listParam(call.params, 'RouteTableId'))
      out.push(await ec2Existing(call, facts, 'route-table', id, { 'ec2:RouteTableID': id }));
    // Private DNS makes EC2 associate a hosted zone on the caller's behalf (SAR: dependent action).
    if (call.params.get('PrivateDnsEnabled') === 'true')
      out.push(request(call, 'route53:AssociateVPCWithHostedZone', '*'));
    return out;
  },
  ModifyVpcEndpoint: async (call, facts) => {
    const out = [
      await ec2Existing(call, facts, 'vpc-endpoint', required(call.params, 'VpcEndpointId', call)),
    ];
    // SAR: ModifyVpcEndpoint's subnet and security-group rows both carry ec2:Vpc.
    const inVpc = async (id: string): Promise<Context> => {
      const vpc = await facts.vpcOf(call.account, call.region, id);
      return vpc ? { 'ec2:Vpc': ec2Arn(call, 'vpc', vpc) } : {};
    };
    for (const p of ['AddSubnetId', 'RemoveSubnetId'])
      for (const id of listParam(call.params, p))
        out.push(await ec2Existing(call, facts, 'subnet', id, { 'ec2:SubnetID': id, ...(await inVpc(id)) }));
    for (const p of ['AddSecurityGroupId', 'RemoveSecurityGroupId'])
      for (const id of listParam(call.params, p))
        out.push(
          await ec2Existing(call, facts, 'security-group', id, {
            'ec2:SecurityGroupID': id,
            ...(await inVpc(id)),
          }),
        );
    return out;
  },
  DeleteVpcEndpoints: async (call, facts) =>
    Promise.all(
      listParam(call.params, 'VpcEndpointId').map((id) => ec2Existing(call, facts, 'vpc-endpoint', id)),
    ),
  CreateVpcEndpointServiceConfiguration: async (call) => ec2Created(call, 'vpc-endpoint-service'),
  ModifyVpcEndpointServiceConfiguration: onService('ServiceId'),
  ModifyVpcEndpointServicePermissions: onService('ServiceId'),
  AcceptVpcEndpointConnections: onService('ServiceId'),
  RejectVpcEndpointConnections: onService('ServiceId'),
  DeleteVpcEndpointServiceConfigurations: onService('ServiceId.N'),
  DescribeVpcEndpointServicePermissions: onService('ServiceId'),
  CreateVpcPeeringConnection: async (call, facts) => {
    const vpcId = required(call.params, 'VpcId', call);
    const accepter = `arn:${call.partition}:ec2:${call.params.get('PeerRegion') ?? call.region}:${
      call.params.get('PeerOwnerId') ?? call.account
    }:vpc/${required(call.params, 'PeerVpcId', call)}`;
    return [
      // AWS: the VPC resource of CreateVpcPeeringConnection is always the requester VPC.
      await ec2Existing(call, facts, 'vpc', vpcId, { 'ec2:VpcID': vpcId }),
      ...ec2Created(call, 'vpc-peering-connection', {
        'ec2:AccepterVpc': accepter,
        'ec2:RequesterVpc': ec2Arn(call, 'vpc', vpcId),
      }),
    ];
  },
  AcceptVpcPeeringConnection: async (call, facts) => {
    const { facts: p, request: pcx } = await peeringRequest(
      call,
      facts,
      required(call.params, 'VpcPeeringConnectionId', call),
    );
    return [pcx, await ec2Existing(call, facts, 'vpc', p.accepter.vpcId, { 'ec2:VpcID': p.accepter.vpcId })];
  },
  DeleteVpcPeeringConnection: async (call, facts) => [
    (await peeringRequest(call, facts, required(call.params, 'VpcPeeringConnectionId', call))).request,
  ],
  CreateRoute: onRouteTable,
  ReplaceRoute: onRouteTable,
  DeleteRoute: onRouteTable,
};

/** EC2 Describe* calls: the SAR gives none of those the provisioner makes resource-level permissions. */
const EC2_DESCRIBES = [
  'DescribeNetworkInterfaces',
  'DescribeRouteTables',
  'DescribeSecurityGroupRules',
  'DescribeSecurityGroups',
  'DescribeSubnets',
  'DescribeTransitGatewayAttachments',
  'DescribeVpcEndpointConnections',
  'DescribeVpcEndpointServiceConfigurations',
  'DescribeVpcEndpoints',
  'DescribeVpcPeeringConnections',
  'DescribeVpcs',
];

/** Every EC2 operation with a mapping. */
export const EC2: Readonly<Record<string, Mapper>> = {
  ...Object.fromEntries(EC2_DESCRIBES.map((op) => [op, ec2Describe])),
  ...EC2_CALLS,
};
