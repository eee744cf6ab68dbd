/**
 * ELBv2 requests to authorizations, per the Service Authorization Reference rows of the
 * ELBv2 actions the provisioner calls. Spec: fake-iam.md (section "Requests to authorizations").
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
  type ResourceFacts,
} from './iam-request-context.js';

function elbRequestTags(params: URLSearchParams): Record<string, string> {
  const tags: Record<string, string> = {};
  for (let i = 1; params.has(`Tags.member.${i}.Key`); i++) {
    tags[params.get(`Tags.member.${i}.Key`)!] = params.get(`Tags.member.${i}.Value`) ?? '';
  }
  return tags;
}

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

const ELB_CALLS: Readonly<Record<string, Mapper>> = {
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

const elbDescribe: Mapper = async (call) => [request(call, `elasticloadbalancing:${call.operation}`, '*')];

/** Every ELBv2 operation with a mapping. */
export const ELB: Readonly<Record<string, Mapper>> = {
  ...Object.fromEntries(ELB_DESCRIBES.map((op) => [op, elbDescribe])),
  ...ELB_CALLS,
};
