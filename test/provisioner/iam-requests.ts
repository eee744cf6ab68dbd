/**
 * How one API request becomes the authorizations AWS makes for it: which actions, on which
 * resource ARNs, with which condition keys, per the Service Authorization Reference (SAR)
 * tables of EC2, ELBv2, Route 53 and STS. Every operation the provisioner calls has an entry;
 * any other one throws UnmappedActionError, so the IAM front refuses it rather than allow it.
 * Spec: fake-iam.md (section "Requests to authorizations").
 */
import type { AuthorizationRequest, ContextValue } from './iam-evaluate.js';

/** One request as the front received it. */
export interface ApiCall {
  /** SigV4 credential-scope service: `ec2`, `elasticloadbalancing`, `sts`, `route53`. */
  readonly service: string;
  /** API operation: `CreateVpcEndpoint`. */
  readonly operation: string;
  readonly region: string;
  /** The caller's account. */
  readonly account: string;
  readonly partition: string;
  /** Query-protocol parameters (EC2, ELBv2, STS); for Route 53 the path parts, see route53Call. */
  readonly params: URLSearchParams;
}

/** What the emulator holds about existing resources (read from moto by the front). */
export interface ResourceFacts {
  /** Tags of an EC2 resource by ID; undefined when no such resource. */
  ec2Tags(account: string, region: string, id: string): Promise<Record<string, string> | undefined>;
  /** VPC of a security group or route table. */
  vpcOf(account: string, region: string, id: string): Promise<string | undefined>;
  /** A peering connection as the caller's account sees it. */
  peering(account: string, region: string, id: string): Promise<PeeringFacts | undefined>;
  /** Tags of an ELBv2 resource by ARN; undefined when no such resource. */
  elbTags(account: string, region: string, arn: string): Promise<Record<string, string> | undefined>;
  /** `network`, `application` or `gateway`: the type of a load balancer, by its ARN. */
  loadBalancerType(account: string, region: string, arn: string): Promise<string | undefined>;
}

export interface PeeringFacts {
  readonly requester: { readonly account: string; readonly region: string; readonly vpcId: string };
  readonly accepter: { readonly account: string; readonly region: string; readonly vpcId: string };
  readonly tags: Record<string, string>;
}

/** A request type the front has no SAR mapping for: refused, never allowed. */
export class UnmappedActionError extends Error {
  override readonly name = 'UnmappedActionError';
  constructor(readonly call: Pick<ApiCall, 'service' | 'operation'>) {
    super(
      `${call.service}:${call.operation} has no authorization mapping in test/provisioner/iam-requests.ts; add one from its row in the Service Authorization Reference before calling it`,
    );
  }
}

/** A resource the request names does not exist: AWS answers NotFound, nothing to authorize. */
export class MissingResourceError extends Error {
  override readonly name = 'MissingResourceError';
}

/** Stands for the ID of a resource the request creates (unknown until it exists): only a wildcard matches it. */
export const NEW_ID = 'new';

type Context = Record<string, ContextValue>;
type Mapper = (call: ApiCall, facts: ResourceFacts) => Promise<AuthorizationRequest[]>;

export function listParam(params: URLSearchParams, prefix: string): string[] {
  const out: string[] = [];
  for (let i = 1; params.has(`${prefix}.${i}`); i++) out.push(params.get(`${prefix}.${i}`)!);
  return out;
}

function required(params: URLSearchParams, name: string, call: ApiCall): string {
  const v = params.get(name);
  if (v === null) throw new Error(`${call.operation}: request has no ${name} parameter`);
  return v;
}

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

function elbRequestTags(params: URLSearchParams): Record<string, string> {
  const tags: Record<string, string> = {};
  for (let i = 1; params.has(`Tags.member.${i}.Key`); i++) {
    tags[params.get(`Tags.member.${i}.Key`)!] = params.get(`Tags.member.${i}.Value`) ?? '';
  }
  return tags;
}

/** `aws:RequestTag/<key>` per tag and `aws:TagKeys`, as AWS puts them in a tagged create. */
function requestTagContext(tags: Record<string, string>): Context {
  const keys = Object.keys(tags);
  if (keys.length === 0) return {};
  return {
    ...Object.fromEntries(Object.entries(tags).map(([k, v]) => [`aws:RequestTag/${k}`, v])),
    'aws:TagKeys': keys,
  };
}

/** `aws:ResourceTag/<key>` and the service's own `<prefix>:ResourceTag/<key>`. */
function resourceTagContext(prefix: string, tags: Record<string, string>): Context {
  return Object.fromEntries(
    Object.entries(tags).flatMap(([k, v]) => [
      [`aws:ResourceTag/${k}`, v],
      [`${prefix}:ResourceTag/${k}`, v],
    ]),
  );
}

function globalContext(call: ApiCall): Context {
  return { 'aws:RequestedRegion': call.region, 'aws:PrincipalAccount': call.account };
}

function request(
  call: ApiCall,
  action: string,
  resource: string,
  context: Context = {},
): AuthorizationRequest {
  return { action, resource, context: { ...globalContext(call), ...context } };
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

const EC2: Readonly<Record<string, Mapper>> = {
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
    const out = [
      ...ec2Created(call, 'vpc-endpoint', {
        'ec2:VpceServiceName': required(call.params, 'ServiceName', call),
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

/** `network` -> `net`: the ELBv2 resource type in the ARN. */
function lbKind(params: URLSearchParams): string {
  const type = params.get('Type') ?? 'application';
  return type === 'network' ? 'net' : type === 'gateway' ? 'gwy' : 'app';
}

const elbArn = (call: ApiCall, resource: string) =>
  `arn:${call.partition}:elasticloadbalancing:${call.region}:${call.account}:${resource}`;

const KIND_OF_TYPE: Readonly<Record<string, string>> = { network: 'net', application: 'app', gateway: 'gwy' };

/**
 * The ARN AWS authorizes for a load balancer or listener: its kind (`net`) follows the load
 * balancer's type. moto writes `app` into every load balancer's ARN, whatever its type.
 */
async function awsElbArn(call: ApiCall, facts: ResourceFacts, arn: string): Promise<string> {
  const m =
    /^(arn:[^:]+:elasticloadbalancing:[^:]+:\d+:)(loadbalancer|listener)\/(app|net|gwy)\/([^/]+)\/([^/]+)(.*)$/.exec(
      arn,
    );
  if (m === null) return arn;
  const [, head, resource, , name, id, rest] = m as unknown as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  const lbArn = `${head}loadbalancer/app/${name}/${id}`;
  const type =
    (await facts.loadBalancerType(call.account, call.region, lbArn)) ??
    (await facts.loadBalancerType(call.account, call.region, lbArn.replace('/app/', '/net/')));
  const kind = type === undefined ? m[3] : (KIND_OF_TYPE[type] ?? m[3]);
  return `${head}${resource}/${kind}/${name}/${id}${rest}`;
}

async function elbExisting(call: ApiCall, facts: ResourceFacts, arn: string, extra: Context = {}) {
  const tags = await facts.elbTags(call.account, call.region, arn);
  if (tags === undefined) throw new MissingResourceError(`${arn} does not exist`);
  return request(call, `elasticloadbalancing:${call.operation}`, await awsElbArn(call, facts, arn), {
    ...resourceTagContext('elasticloadbalancing', tags),
    ...extra,
  });
}

/** A tagged ELBv2 create also authorizes elasticloadbalancing:AddTags with elasticloadbalancing:CreateAction. */
function elbCreated(call: ApiCall, arn: string, extra: Context = {}, primary?: AuthorizationRequest) {
  const tags = elbRequestTags(call.params);
  const context = { ...requestTagContext(tags), ...extra };
  const out = [primary ?? request(call, `elasticloadbalancing:${call.operation}`, arn, context)];
  if (Object.keys(tags).length > 0)
    out.push(
      request(call, 'elasticloadbalancing:AddTags', arn, {
        ...requestTagContext(tags),
        'elasticloadbalancing:CreateAction': call.operation,
      }),
    );
  return out;
}

const onElb =
  (param: string): Mapper =>
  async (call, facts) => [await elbExisting(call, facts, required(call.params, param, call))];

const ELB: Readonly<Record<string, Mapper>> = {
  CreateLoadBalancer: async (call) =>
    elbCreated(
      call,
      elbArn(call, `loadbalancer/${lbKind(call.params)}/${required(call.params, 'Name', call)}/${NEW_ID}`),
      {
        'elasticloadbalancing:Scheme': call.params.get('Scheme') ?? 'internet-facing',
        'elasticloadbalancing:Subnet': listParam(call.params, 'Subnets.member'),
        'elasticloadbalancing:SecurityGroup': listParam(call.params, 'SecurityGroups.member'),
      },
    ),
  CreateTargetGroup: async (call) =>
    elbCreated(call, elbArn(call, `targetgroup/${required(call.params, 'Name', call)}/${NEW_ID}`)),
  // SAR: CreateListener authorizes the load balancer; the new listener is what AddTags tags.
  CreateListener: async (call, facts) => {
    const lbArn = required(call.params, 'LoadBalancerArn', call);
    const lb = await elbExisting(call, facts, lbArn, requestTagContext(elbRequestTags(call.params)));
    const listenerArn = `${lb.resource.replace(':loadbalancer/', ':listener/')}/${NEW_ID}`;
    return elbCreated(call, listenerArn, {}, lb);
  },
  DeleteListener: onElb('ListenerArn'),
  ModifyListener: onElb('ListenerArn'),
  ModifyListenerAttributes: onElb('ListenerArn'),
  DeleteLoadBalancer: onElb('LoadBalancerArn'),
  ModifyLoadBalancerAttributes: onElb('LoadBalancerArn'),
  SetSubnets: async (call, facts) => [
    await elbExisting(call, facts, required(call.params, 'LoadBalancerArn', call), {
      'elasticloadbalancing:Subnet': listParam(call.params, 'Subnets.member'),
    }),
  ],
  SetSecurityGroups: async (call, facts) => [
    await elbExisting(call, facts, required(call.params, 'LoadBalancerArn', call), {
      'elasticloadbalancing:SecurityGroup': listParam(call.params, 'SecurityGroups.member'),
    }),
  ],
  DeleteTargetGroup: onElb('TargetGroupArn'),
  ModifyTargetGroup: onElb('TargetGroupArn'),
  ModifyTargetGroupAttributes: onElb('TargetGroupArn'),
  // Tags added outside a create: no elasticloadbalancing:CreateAction in the context.
  AddTags: async (call, facts) =>
    Promise.all(
      listParam(call.params, 'ResourceArns.member').map((arn) =>
        elbExisting(call, facts, arn, requestTagContext(elbRequestTags(call.params))),
      ),
    ),
};

const ELB_DESCRIBES = [
  'DescribeListenerAttributes',
  'DescribeListeners',
  'DescribeLoadBalancerAttributes',
  'DescribeLoadBalancers',
  'DescribeTags',
  'DescribeTargetGroupAttributes',
  'DescribeTargetGroups',
];

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
      return EC2_DESCRIBES.includes(call.operation) ? ec2Describe : own(EC2, call.operation);
    case 'elasticloadbalancing':
      return ELB_DESCRIBES.includes(call.operation)
        ? async (c) => [request(c, `elasticloadbalancing:${c.operation}`, '*')]
        : own(ELB, call.operation);
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
