/**
 * The printed iam-policy evaluated the way IAM evaluates an identity policy (Allow statements,
 * Resource globs, StringEquals conditions): the recording test proves every call is listed;
 * this one proves the tag conditions really hold, i.e. no other statement lets a create
 * through without the managed-by tag.
 */
import { describe, expect, test } from 'vitest';
import { allowedActions, type PolicyDocument } from '../../provisioner/iam/policy.js';
import { getTopology } from '../../provisioner/topologies/index.js';
import { gcpToAwsConfigSchema } from '../../provisioner/topologies/gcp-to-aws/config.js';
import { peeredConfigSchema } from '../../provisioner/topologies/peered/config.js';

type Context = Readonly<Record<string, string>>;

function globMatches(pattern: string, value: string): boolean {
  const re = new RegExp(`^${pattern.split('*').map(escape).join('.*')}$`);
  return re.test(value);
}

function escape(s: string): string {
  return s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}

function conditionsHold(
  condition: Record<string, Record<string, string | string[]>> | undefined,
  ctx: Context,
) {
  for (const [operator, keys] of Object.entries(condition ?? {})) {
    if (operator !== 'StringEquals' && operator !== 'ArnEquals')
      throw new Error(`evaluator does not know ${operator}`);
    for (const [key, want] of Object.entries(keys)) {
      const have = ctx[key];
      if (have === undefined || !(typeof want === 'string' ? [want] : want).includes(have)) return false;
    }
  }
  return true;
}

/** True when some Allow statement covers the action on the resource in this request context. */
function allows(policy: PolicyDocument, action: string, resource: string, ctx: Context = {}): boolean {
  return policy.Statement.some(
    (s) =>
      s.Action.includes(action) &&
      s.Resource.some((r) => globMatches(r, resource)) &&
      conditionsHold(s.Condition, ctx),
  );
}

const TAGGED = { 'aws:RequestTag/chalk.ai/managed-by': 'chalk' };
const EC2 = 'arn:aws:ec2:us-east-1:222222222222';

describe('creates are allowed only with the managed-by tag on the resource they create', () => {
  const cases = [
    {
      topology: 'gcp-to-aws',
      account: 'consumer',
      action: 'ec2:CreateSecurityGroup',
      arn: `${EC2}:security-group/sg-0123`,
    },
    {
      topology: 'gcp-to-aws',
      account: 'consumer',
      action: 'ec2:CreateVpcEndpoint',
      arn: `${EC2}:vpc-endpoint/vpce-0123`,
    },
    {
      topology: 'gcp-to-aws',
      account: 'provider',
      action: 'ec2:CreateVpcEndpointServiceConfiguration',
      arn: `${EC2}:vpc-endpoint-service/vpce-svc-0123`,
    },
    {
      topology: 'gcp-to-aws',
      account: 'provider',
      action: 'elasticloadbalancing:CreateLoadBalancer',
      arn: 'arn:aws:elasticloadbalancing:us-east-1:111111111111:loadbalancer/net/ekl-acme/0123',
      context: { 'elasticloadbalancing:Scheme': 'internal' },
    },
    {
      topology: 'gcp-to-aws',
      account: 'provider',
      action: 'elasticloadbalancing:CreateTargetGroup',
      arn: 'arn:aws:elasticloadbalancing:us-east-1:111111111111:targetgroup/ekl-acme/0123',
    },
    {
      topology: 'peered',
      account: 'requester',
      action: 'ec2:CreateVpcPeeringConnection',
      arn: `${EC2}:vpc-peering-connection/pcx-0123`,
    },
  ];
  test.each(cases)('$topology $account: $action', ({ topology, account, action, arn, ...rest }) => {
    const policy = getTopology(topology).iamPolicy(account);
    const ctx: Record<string, string> = ('context' in rest ? rest.context : undefined) ?? {};
    expect(allows(policy, action, arn, { ...ctx, ...TAGGED }), 'with the tag').toBe(true);
    expect(allows(policy, action, arn, ctx), 'without the tag').toBe(false);
    expect(
      allows(policy, action, arn, { ...ctx, 'aws:RequestTag/chalk.ai/managed-by': 'someone-else' }),
    ).toBe(false);
  });

  test('gcp-to-aws provider: only an internal NLB', () => {
    const policy = getTopology('gcp-to-aws').iamPolicy('provider');
    const arn = 'arn:aws:elasticloadbalancing:us-east-1:111111111111:loadbalancer/net/ekl-acme/0123';
    const scheme = (s: string) => ({ ...TAGGED, 'elasticloadbalancing:Scheme': s });
    expect(allows(policy, 'elasticloadbalancing:CreateLoadBalancer', arn, scheme('internet-facing'))).toBe(
      false,
    );
  });
});

test('gcp-to-aws consumer: the endpoint may use the customer VPC and subnets (untagged), and only its own tagged group', () => {
  const policy = getTopology('gcp-to-aws').iamPolicy('consumer');
  for (const arn of [`${EC2}:vpc/vpc-0123`, `${EC2}:subnet/subnet-0123`])
    expect(allows(policy, 'ec2:CreateVpcEndpoint', arn), arn).toBe(true);
  const sg = `${EC2}:security-group/sg-0123`;
  expect(allows(policy, 'ec2:CreateVpcEndpoint', sg), 'an untagged group').toBe(false);
  expect(
    allows(policy, 'ec2:CreateVpcEndpoint', sg, { 'aws:ResourceTag/chalk.ai/managed-by': 'chalk' }),
  ).toBe(true);
  expect(allows(policy, 'ec2:CreateSecurityGroup', `${EC2}:vpc/vpc-0123`)).toBe(true);
  // Changing or deleting a group needs the tag, so the customer's own groups stay out of reach.
  expect(allows(policy, 'ec2:DeleteSecurityGroup', sg)).toBe(false);
  expect(allows(policy, 'ec2:AuthorizeSecurityGroupIngress', sg)).toBe(false);
});

test('gcp-to-aws provider: ELBv2 grants name ekslink resources; AddTags only inside a create', () => {
  const ELB = 'arn:aws:elasticloadbalancing:us-east-1:111111111111';
  const tagged = { 'aws:ResourceTag/chalk.ai/managed-by': 'chalk' };
  const anyName = getTopology('gcp-to-aws').iamPolicy('provider');
  expect(
    allows(
      anyName,
      'elasticloadbalancing:DeleteLoadBalancer',
      `${ELB}:loadbalancer/net/ekl-acme/0123`,
      tagged,
    ),
  ).toBe(true);
  expect(
    allows(anyName, 'elasticloadbalancing:DeleteLoadBalancer', `${ELB}:loadbalancer/net/shop/0123`, tagged),
  ).toBe(false);
  const addTags = (ctx: Record<string, string>) =>
    allows(anyName, 'elasticloadbalancing:AddTags', `${ELB}:loadbalancer/net/ekl-acme/0123`, ctx);
  expect(addTags({ ...TAGGED, 'elasticloadbalancing:CreateAction': 'CreateLoadBalancer' })).toBe(true);
  expect(addTags(TAGGED), 'AddTags outside a create').toBe(false);
});

test('gcp-to-aws with --config: no write on "*"; a wildcard ARN only under a condition', () => {
  const config = gcpToAwsConfigSchema.parse({
    deployment: 'acme',
    eks: {
      hostname: '0123456789ABCDEF0123456789ABCDEF.gr7.us-east-1.eks.amazonaws.com',
      clusterName: 'acme',
    },
    provider: {
      accountId: '111111111111',
      region: 'us-east-1',
      vpcId: 'vpc-0111111111111111a',
      subnetIds: ['subnet-0111111111111111a', 'subnet-0111111111111111b'],
    },
    consumer: {
      accountId: '222222222222',
      region: 'us-east-1',
      vpcId: 'vpc-0222222222222222a',
      subnetIds: ['subnet-0222222222222222a'],
      allowedCidrs: ['10.8.0.10/32'],
    },
  });
  for (const account of ['provider', 'consumer']) {
    const policy = getTopology('gcp-to-aws').iamPolicy(account, 'aws', config);
    for (const st of policy.Statement.filter((s) => s.Action.some((a) => !/:(Describe|Get|List)/.test(a)))) {
      expect(st.Resource, st.Sid).not.toContain('*');
      for (const r of st.Resource)
        expect(r, st.Sid).toMatch(account === 'provider' ? /:111111111111:/ : /:222222222222:/);
      if (st.Resource.some((r) => r.endsWith('/*'))) expect(st.Condition, st.Sid).toBeDefined();
    }
  }
});

describe('with --config, the peered policies name exactly the configured resources', () => {
  const side = (accountId: string, region: string, vpcId: string, cidr: string, rtb: string) => ({
    accountId,
    region,
    vpcId,
    cidr,
    routeTableIds: [rtb],
  });
  const config = peeredConfigSchema.parse({
    deployment: 'acme',
    eks: {
      hostname: '0A1B2C3D4E5F60718293A4B5C6D7E8F9.gr7.eu-west-1.eks.amazonaws.com',
      clusterSecurityGroupId: 'sg-0aaaaaaaaaaaaaaaa',
    },
    requester: side(
      '111111111111',
      'us-east-1',
      'vpc-0111111111111111a',
      '10.1.0.0/16',
      'rtb-0111111111111111a',
    ),
    accepter: side(
      '222222222222',
      'eu-west-1',
      'vpc-0222222222222222a',
      '10.2.0.0/16',
      'rtb-0222222222222222a',
    ),
    dns: { privateHostedZoneId: 'Z0123456789ABCDEFGHIJ' },
  });
  const ACC = 'arn:aws:ec2:eu-west-1:222222222222';
  const REQ_VPC = 'arn:aws:ec2:us-east-1:111111111111:vpc/vpc-0111111111111111a';
  const ACC_VPC = `${ACC}:vpc/vpc-0222222222222222a`;
  const writes = (policy: PolicyDocument) =>
    policy.Statement.filter((st) => st.Action.some((a) => !/:(Describe|Get|List)/.test(a)));

  test.each(['accepter', 'requester'])(
    '%s: no write statement on "*"; a wildcard ARN only under a condition',
    (account) => {
      const policy = getTopology('peered').iamPolicy(account, 'aws', config);
      for (const st of writes(policy)) {
        expect(st.Resource, st.Sid).not.toContain('*');
        if (st.Resource.some((r) => r.endsWith('/*'))) expect(st.Condition, st.Sid).toBeDefined();
      }
    },
  );

  test('accepter: only the cluster group, the route tables, the zone, and a peering of exactly these VPCs', () => {
    const policy = getTopology('peered').iamPolicy('accepter', 'aws', config);
    const sg = `${ACC}:security-group/sg-0aaaaaaaaaaaaaaaa`;
    expect(allows(policy, 'ec2:AuthorizeSecurityGroupIngress', sg)).toBe(true);
    expect(
      allows(policy, 'ec2:AuthorizeSecurityGroupIngress', `${ACC}:security-group/sg-0bbbbbbbbbbbbbbbb`),
    ).toBe(false);
    expect(allows(policy, 'ec2:CreateRoute', `${ACC}:route-table/rtb-0222222222222222a`)).toBe(true);
    expect(allows(policy, 'ec2:CreateRoute', `${ACC}:route-table/rtb-0333333333333333a`)).toBe(false);
    const zone = 'arn:aws:route53:::hostedzone/Z0123456789ABCDEFGHIJ';
    expect(allows(policy, 'route53:CreateVPCAssociationAuthorization', zone)).toBe(true);
    expect(
      allows(policy, 'route53:CreateVPCAssociationAuthorization', 'arn:aws:route53:::hostedzone/ZOTHER'),
    ).toBe(false);
    const pcx = `arn:aws:ec2:eu-west-1:111111111111:vpc-peering-connection/pcx-0123`;
    const joins = { 'ec2:AccepterVpc': ACC_VPC, 'ec2:RequesterVpc': REQ_VPC };
    expect(allows(policy, 'ec2:AcceptVpcPeeringConnection', pcx, joins)).toBe(true);
    expect(allows(policy, 'ec2:AcceptVpcPeeringConnection', ACC_VPC)).toBe(true);
    expect(
      allows(policy, 'ec2:AcceptVpcPeeringConnection', pcx, {
        ...joins,
        'ec2:RequesterVpc': 'arn:aws:ec2:us-east-1:999999999999:vpc/vpc-0999999999999999a',
      }),
    ).toBe(false);
    expect(allows(policy, 'ec2:AcceptVpcPeeringConnection', `${ACC}:vpc/vpc-0999999999999999a`)).toBe(false);
  });

  test('requester: the peering only from its VPC to the accepter VPC, tagged', () => {
    const policy = getTopology('peered').iamPolicy('requester', 'aws', config);
    const pcx = 'arn:aws:ec2:us-east-1:111111111111:vpc-peering-connection/pcx-0123';
    const ctx = { ...TAGGED, 'ec2:AccepterVpc': ACC_VPC, 'ec2:RequesterVpc': REQ_VPC };
    expect(allows(policy, 'ec2:CreateVpcPeeringConnection', pcx, ctx)).toBe(true);
    expect(allows(policy, 'ec2:CreateVpcPeeringConnection', REQ_VPC)).toBe(true);
    expect(
      allows(policy, 'ec2:CreateVpcPeeringConnection', pcx, {
        ...ctx,
        'ec2:AccepterVpc': `${ACC}:vpc/vpc-x`,
      }),
    ).toBe(false);
    expect(
      allows(policy, 'ec2:CreateVpcPeeringConnection', 'arn:aws:ec2:us-east-1:111111111111:vpc/vpc-x'),
    ).toBe(false);
  });

  test('DNS check mode (no zone configured): no Route 53 zone statements at all', () => {
    const { dns: _dns, ...rest } = config;
    const noZone = { ...rest, dns: { checkServers: undefined } };
    for (const account of ['accepter', 'requester']) {
      const actions = allowedActions(getTopology('peered').iamPolicy(account, 'aws', noZone));
      expect(
        [...actions].filter(
          (a) =>
            a.startsWith('route53:') && a !== 'route53:ListHostedZonesByVPC' && a !== 'route53:GetChange',
        ),
      ).toEqual([]);
    }
  });

  test('without --config the same statements are pattern-wide (documented in docs/iam.md)', () => {
    const policy = getTopology('peered').iamPolicy('accepter');
    expect(
      allows(policy, 'ec2:AuthorizeSecurityGroupIngress', `${ACC}:security-group/sg-0bbbbbbbbbbbbbbbb`),
    ).toBe(true);
  });
});
