/**
 * The printed iam-policy evaluated the way IAM evaluates an identity policy (Allow statements,
 * Resource globs, StringEquals conditions): the recording test proves every call is listed;
 * this one proves the tag conditions really hold, i.e. no other statement lets a create
 * through without the managed-by tag.
 */
import { describe, expect, test } from 'vitest';
import type { PolicyDocument } from '../../provisioner/iam/policy.js';
import { getTopology } from '../../provisioner/topologies/index.js';

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
    if (operator !== 'StringEquals') throw new Error(`evaluator does not know ${operator}`);
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
  test.each(cases)('$topology $account: $action', ({ topology, account, action, arn }) => {
    const policy = getTopology(topology).iamPolicy(account);
    expect(allows(policy, action, arn, TAGGED), 'with the tag').toBe(true);
    expect(allows(policy, action, arn), 'without the tag').toBe(false);
    expect(allows(policy, action, arn, { 'aws:RequestTag/chalk.ai/managed-by': 'someone-else' })).toBe(false);
  });
});

test('gcp-to-aws consumer: the endpoint may still use the customer VPC, subnets and its group (untagged)', () => {
  const policy = getTopology('gcp-to-aws').iamPolicy('consumer');
  for (const arn of [`${EC2}:vpc/vpc-0123`, `${EC2}:subnet/subnet-0123`, `${EC2}:security-group/sg-0123`])
    expect(allows(policy, 'ec2:CreateVpcEndpoint', arn), arn).toBe(true);
  expect(allows(policy, 'ec2:CreateSecurityGroup', `${EC2}:vpc/vpc-0123`)).toBe(true);
  // Changing or deleting a group needs the tag, so the customer's own groups stay out of reach.
  expect(allows(policy, 'ec2:DeleteSecurityGroup', `${EC2}:security-group/sg-0123`)).toBe(false);
  expect(allows(policy, 'ec2:AuthorizeSecurityGroupIngress', `${EC2}:security-group/sg-0123`)).toBe(false);
});
