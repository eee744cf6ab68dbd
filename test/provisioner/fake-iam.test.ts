/** The IAM front's own tests against moto: identities, denials in each service's shape, the SAR mappings (fake-iam.md). */
import {
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateTagsCommand,
  CreateVpcCommand,
  DeleteSecurityGroupCommand,
  DescribeSecurityGroupsCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import {
  AddTagsCommand,
  CreateLoadBalancerCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { startIamFront, principalArn, type IamFront } from './fake-iam.js';
import type { EvaluatedStatement } from './iam-evaluate.js';
import { route53Call } from './iam-requests.js';
import { startMoto, type MotoServer } from './moto.js';
import { motoCredentials, type StaticCredentials } from './peered-moto-accounts.js';

const ACCOUNT = '333333333333';
const ROLE = `arn:aws:iam::${ACCOUNT}:role/ekslink-test`;
const TAG = { Key: 'chalk.ai/managed-by', Value: 'chalk' };

let moto: MotoServer;
let front: IamFront;
let creds: StaticCredentials;
let vpcId: string;
let subnets: string[];
const clients: { destroy(): void }[] = [];

function ec2(): EC2Client {
  const c = new EC2Client({ endpoint: front.url, region: 'us-east-1', credentials: creds, maxAttempts: 1 });
  clients.push(c);
  return c;
}

function elbv2(): ElasticLoadBalancingV2Client {
  const c = new ElasticLoadBalancingV2Client({
    endpoint: front.url,
    region: 'us-east-1',
    credentials: creds,
    maxAttempts: 1,
  });
  clients.push(c);
  return c;
}

/** A client straight to moto, as the account itself (setup and checks, never judged). */
function raw(): EC2Client {
  const c = new EC2Client({ endpoint: moto.url, region: 'us-east-1', credentials: creds, maxAttempts: 1 });
  clients.push(c);
  return c;
}

const allowAll = (...actions: string[]): EvaluatedStatement => ({
  Sid: 'All',
  Effect: 'Allow',
  Action: actions,
  Resource: '*',
});

beforeAll(async () => {
  moto = await startMoto();
  front = await startIamFront({ motoUrl: moto.url });
  creds = await motoCredentials(moto.url, ACCOUNT);
  vpcId = (await raw().send(new CreateVpcCommand({ CidrBlock: '10.30.0.0/16' }))).Vpc!.VpcId!;
  subnets = [];
  for (const [i, az] of ['us-east-1a', 'us-east-1b'].entries())
    subnets.push(
      (
        await raw().send(
          new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: `10.30.${i}.0/24`, AvailabilityZone: az }),
        )
      ).Subnet!.SubnetId!,
    );
}, 60_000);
afterAll(async () => {
  clients.forEach((c) => c.destroy());
  await front?.stop();
  await moto?.stop();
});
beforeEach(() => {
  front.log.splice(0);
  front.failures.splice(0);
});

describe('identities', () => {
  test('assumed-role sessions act as their role; other ARNs as themselves', async () => {
    expect(principalArn('arn:aws:sts::111111111111:assumed-role/ekslink/session-1')).toBe(
      'arn:aws:iam::111111111111:role/ekslink',
    );
    expect(principalArn('arn:aws:sts::111111111111:user/moto')).toBe('arn:aws:sts::111111111111:user/moto');
    expect(await front.principalOf(creds.accessKeyId)).toEqual({ principal: ROLE, account: ACCOUNT });
  });

  test('a principal with no policy set is refused, and the refusal is recorded', async () => {
    const other = await motoCredentials(moto.url, '444444444444');
    const c = new EC2Client({ endpoint: front.url, region: 'us-east-1', credentials: other, maxAttempts: 1 });
    clients.push(c);
    await expect(c.send(new DescribeSecurityGroupsCommand({}))).rejects.toMatchObject({
      name: 'UnauthorizedOperation',
    });
    expect(front.failures).toEqual([
      expect.stringContaining('no identity policy is set for arn:aws:iam::444444444444:role/ekslink-test'),
    ]);
  });
});

describe('EC2', () => {
  test('a denied call answers UnauthorizedOperation (HTTP 403) naming action and resource, and never reaches moto', async () => {
    front.setPolicies(ROLE, [{ Statement: [allowAll('ec2:DescribeSecurityGroups')] }]);
    const err = await ec2()
      .send(new CreateSecurityGroupCommand({ GroupName: 'denied', Description: 'x', VpcId: vpcId }))
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'UnauthorizedOperation', $metadata: { httpStatusCode: 403 } });
    expect((err as Error).message).toMatch(
      new RegExp(
        `^User: ${ROLE} is not authorized to perform: ec2:CreateSecurityGroup on resource: arn:aws:ec2:us-east-1:${ACCOUNT}:security-group/new because no identity-based policy allows`,
      ),
    );
    const groups = await raw().send(
      new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-name', Values: ['denied'] }] }),
    );
    expect(groups.SecurityGroups).toEqual([]);
    expect(front.log.at(-1)).toMatchObject({ operation: 'CreateSecurityGroup', outcome: 'denied' });
  });

  test('tag on create: the group and the VPC, then ec2:CreateTags with ec2:CreateAction', async () => {
    const create: EvaluatedStatement = {
      Sid: 'Create',
      Effect: 'Allow',
      Action: 'ec2:CreateSecurityGroup',
      Resource: ['arn:aws:ec2:*:*:security-group/*', `arn:aws:ec2:*:*:vpc/${vpcId}`],
      Condition: { StringEqualsIfExists: { 'aws:RequestTag/chalk.ai/managed-by': 'chalk' } },
    };
    const tagOnCreate: EvaluatedStatement = {
      Sid: 'TagOnCreate',
      Effect: 'Allow',
      Action: 'ec2:CreateTags',
      Resource: 'arn:aws:ec2:*:*:security-group/*',
      Condition: { StringEquals: { 'ec2:CreateAction': 'CreateSecurityGroup' } },
    };
    const tagged = (name: string) =>
      new CreateSecurityGroupCommand({
        GroupName: name,
        Description: 'x',
        VpcId: vpcId,
        TagSpecifications: [{ ResourceType: 'security-group', Tags: [TAG] }],
      });
    front.setPolicies(ROLE, [{ Statement: [create] }]);
    await expect(ec2().send(tagged('no-tag-grant'))).rejects.toThrow(
      /ec2:CreateTags on resource: .*security-group\/new/,
    );
    front.setPolicies(ROLE, [{ Statement: [create, tagOnCreate] }]);
    const out = await ec2().send(tagged('tag-grant'));
    expect(out.GroupId).toMatch(/^sg-/);
    expect(
      front.log.at(-1)!.authorizations.map((a) => [a.action, a.resource.replace(/^.*:/, ''), a.allowedBy]),
    ).toEqual([
      ['ec2:CreateSecurityGroup', 'security-group/new', ['Create']],
      ['ec2:CreateTags', 'security-group/new', ['TagOnCreate']],
      ['ec2:CreateSecurityGroup', `vpc/${vpcId}`, ['Create']],
    ]);
    // Tagging on its own (not part of a create) has no mapping: refused, never allowed.
    await expect(
      ec2().send(new CreateTagsCommand({ Resources: [out.GroupId!], Tags: [TAG] })),
    ).rejects.toThrow(/ec2:CreateTags has no authorization mapping/);
  });

  test('aws:ResourceTag comes from the resource itself: an untagged group cannot be deleted under a tag condition', async () => {
    const untagged = (
      await raw().send(
        new CreateSecurityGroupCommand({ GroupName: 'customer', Description: 'x', VpcId: vpcId }),
      )
    ).GroupId!;
    const ours = (
      await raw().send(
        new CreateSecurityGroupCommand({
          GroupName: 'ours',
          Description: 'x',
          VpcId: vpcId,
          TagSpecifications: [{ ResourceType: 'security-group', Tags: [TAG] }],
        }),
      )
    ).GroupId!;
    front.setPolicies(ROLE, [
      {
        Statement: [
          {
            Sid: 'OnlyOurs',
            Effect: 'Allow',
            Action: 'ec2:DeleteSecurityGroup',
            Resource: 'arn:aws:ec2:*:*:security-group/*',
            Condition: { StringEquals: { 'aws:ResourceTag/chalk.ai/managed-by': 'chalk' } },
          },
        ],
      },
    ]);
    await expect(ec2().send(new DeleteSecurityGroupCommand({ GroupId: untagged }))).rejects.toMatchObject({
      name: 'UnauthorizedOperation',
    });
    await ec2().send(new DeleteSecurityGroupCommand({ GroupId: ours }));
    expect(front.log.at(-1)!.authorizations[0]!.context).toMatchObject({
      'aws:ResourceTag/chalk.ai/managed-by': 'chalk',
      'ec2:ResourceTag/chalk.ai/managed-by': 'chalk',
      'ec2:Vpc': `arn:aws:ec2:us-east-1:${ACCOUNT}:vpc/${vpcId}`,
    });
    // A group that is not there: nothing to authorize, the service's own NotFound answers.
    await expect(ec2().send(new DeleteSecurityGroupCommand({ GroupId: ours }))).rejects.toMatchObject({
      name: 'InvalidGroup.NotFound',
    });
  });

  test('an explicit deny wins over an allow', async () => {
    front.setPolicies(ROLE, [
      { Statement: [allowAll('ec2:DescribeSecurityGroups')] },
      { Statement: [{ Sid: 'Never', Effect: 'Deny', Action: 'ec2:Describe*', Resource: '*' }] },
    ]);
    await expect(ec2().send(new DescribeSecurityGroupsCommand({}))).rejects.toThrow(/with an explicit deny/);
  });
});

describe('ELBv2', () => {
  test('CreateLoadBalancer authorizes loadbalancer/net/<name>, then AddTags with elasticloadbalancing:CreateAction; AddTags alone is denied', async () => {
    const name = 'ekl-front';
    front.setPolicies(ROLE, [
      {
        Statement: [
          {
            Sid: 'Create',
            Effect: 'Allow',
            Action: 'elasticloadbalancing:CreateLoadBalancer',
            Resource: `arn:aws:elasticloadbalancing:*:*:loadbalancer/net/${name}/*`,
          },
          {
            Sid: 'TagOnCreate',
            Effect: 'Allow',
            Action: 'elasticloadbalancing:AddTags',
            Resource: '*',
            Condition: { StringEquals: { 'elasticloadbalancing:CreateAction': 'CreateLoadBalancer' } },
          },
        ],
      },
    ]);
    const denied = await elbv2()
      .send(
        new CreateLoadBalancerCommand({
          Name: 'shop',
          Type: 'network',
          Scheme: 'internal',
          Subnets: subnets,
          Tags: [TAG],
        }),
      )
      .catch((e: unknown) => e);
    expect(denied).toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
    const lb = await elbv2().send(
      new CreateLoadBalancerCommand({
        Name: name,
        Type: 'network',
        Scheme: 'internal',
        Subnets: subnets,
        Tags: [TAG],
      }),
    );
    const arn = lb.LoadBalancers![0]!.LoadBalancerArn!;
    expect(front.log.at(-1)!.authorizations.map((a) => [a.action, a.resource.replace(/^.*:/, '')])).toEqual([
      ['elasticloadbalancing:CreateLoadBalancer', `loadbalancer/net/${name}/new`],
      ['elasticloadbalancing:AddTags', `loadbalancer/net/${name}/new`],
    ]);
    await expect(
      elbv2().send(new AddTagsCommand({ ResourceArns: [arn], Tags: [TAG] })),
    ).rejects.toMatchObject({
      name: 'AccessDenied',
    });
    // The ARN authorized for an existing NLB says `net`, whatever moto writes in its own.
    expect(front.log.at(-1)!.authorizations[0]!.resource).toMatch(/:loadbalancer\/net\/ekl-front\//);
  });
});

describe('Route 53 requests', () => {
  const call = (method: string, path: string, body = '') =>
    route53Call(method, new URL(path, 'http://front'), body);
  test('the operation and the zone, change or VPC come from the REST path and body', () => {
    expect(
      call('POST', '/2013-04-01/hostedzone/Z1/associatevpc', '<VPC><VPCId>vpc-1</VPCId></VPC>'),
    ).toMatchObject({
      operation: 'AssociateVPCWithHostedZone',
    });
    expect(call('POST', '/2013-04-01/hostedzone/Z1/associatevpc')!.params.get('Id')).toBe('Z1');
    expect(call('GET', '/2013-04-01/hostedzone/Z1/authorizevpcassociation')!.operation).toBe(
      'ListVPCAssociationAuthorizations',
    );
    expect(call('POST', '/2013-04-01/hostedzone/Z1/authorizevpcassociation')!.operation).toBe(
      'CreateVPCAssociationAuthorization',
    );
    expect(call('POST', '/2013-04-01/hostedzone/Z1/deauthorizevpcassociation')!.operation).toBe(
      'DeleteVPCAssociationAuthorization',
    );
    expect(call('GET', '/2013-04-01/hostedzone/Z1')!.operation).toBe('GetHostedZone');
    expect(call('GET', '/2013-04-01/change/C1')!.params.get('Id')).toBe('C1');
    expect(
      call('GET', '/2013-04-01/hostedzonesbyvpc?vpcid=vpc-9&vpcregion=us-east-1')!.params.get('VPCId'),
    ).toBe('vpc-9');
    expect(call('DELETE', '/2013-04-01/hostedzone/Z1')).toBeUndefined();
  });
});
