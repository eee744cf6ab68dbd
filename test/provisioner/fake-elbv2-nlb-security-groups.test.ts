/**
 * The NLB security-group fake (fake-elbv2-nlb-security-groups.md) against real moto: the
 * create-time-only rule, the PrivateLink enforcement setting, pass-through of the rest.
 */
import {
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import {
  CreateLoadBalancerCommand,
  DeleteLoadBalancerCommand,
  DescribeLoadBalancersCommand,
  ElasticLoadBalancingV2Client,
  SetSecurityGroupsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startNlbSecurityGroupsFake, type NlbSecurityGroupsFake } from './fake-elbv2-nlb-security-groups.js';
import { startMoto, type MotoServer } from './moto.js';

let moto: MotoServer;
let fake: NlbSecurityGroupsFake;
let ec2: EC2Client;
let elbv2: ElasticLoadBalancingV2Client;
let subnets: string[];
let sg: string;

beforeAll(async () => {
  moto = await startMoto();
  fake = await startNlbSecurityGroupsFake({ motoUrl: moto.url });
  const base = {
    region: 'us-east-1',
    endpoint: fake.url,
    credentials: { accessKeyId: 'AKIAFAKETEST', secretAccessKey: 'x' },
    maxAttempts: 1,
  };
  ec2 = new EC2Client(base);
  elbv2 = new ElasticLoadBalancingV2Client(base);
  const vpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.40.0.0/16' }))).Vpc!.VpcId!;
  subnets = [];
  for (const [i, az] of ['us-east-1a', 'us-east-1b'].entries())
    subnets.push(
      (
        await ec2.send(
          new CreateSubnetCommand({ VpcId: vpc, CidrBlock: `10.40.${i}.0/24`, AvailabilityZone: az }),
        )
      ).Subnet!.SubnetId!,
    );
  sg = (await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'nlb', Description: 'nlb', VpcId: vpc })))
    .GroupId!;
}, 60_000);

afterAll(async () => {
  ec2?.destroy();
  elbv2?.destroy();
  await fake?.stop();
  await moto?.stop();
});

async function nlb(name: string, groups?: string[]) {
  return (
    await elbv2.send(
      new CreateLoadBalancerCommand({
        Name: name,
        Type: 'network',
        Scheme: 'internal',
        Subnets: subnets,
        ...(groups ? { SecurityGroups: groups } : {}),
      }),
    )
  ).LoadBalancers![0]!;
}

async function describe1(arn: string) {
  return (await elbv2.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [arn] }))).LoadBalancers![0]!;
}

describe('an NLB created with a security group', () => {
  test('starts with PrivateLink enforcement on, and SetSecurityGroups turns it off', async () => {
    const lb = await nlb('with-sg', [sg]);
    expect(lb.EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic).toBe('on');
    expect((await describe1(lb.LoadBalancerArn!)).SecurityGroups).toEqual([sg]);
    const out = await elbv2.send(
      new SetSecurityGroupsCommand({
        LoadBalancerArn: lb.LoadBalancerArn,
        SecurityGroups: [sg],
        EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic: 'off',
      }),
    );
    expect(out).toMatchObject({
      SecurityGroupIds: [sg],
      EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic: 'off',
    });
    expect((await describe1(lb.LoadBalancerArn!)).EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic).toBe(
      'off',
    );
    // Omitted: the setting stays as it is.
    await elbv2.send(
      new SetSecurityGroupsCommand({ LoadBalancerArn: lb.LoadBalancerArn, SecurityGroups: [sg] }),
    );
    expect((await describe1(lb.LoadBalancerArn!)).EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic).toBe(
      'off',
    );
    expect(fake.enforcement().get(lb.LoadBalancerArn!)).toBe('off');
  });

  test('cannot lose all its groups, and refuses an enforcement value AWS does not know', async () => {
    const lb = await nlb('keep-sg', [sg]);
    await expect(
      elbv2.send(new SetSecurityGroupsCommand({ LoadBalancerArn: lb.LoadBalancerArn, SecurityGroups: [] })),
    ).rejects.toMatchObject({ name: 'InvalidConfigurationRequestException' });
    await expect(
      elbv2.send(
        new SetSecurityGroupsCommand({
          LoadBalancerArn: lb.LoadBalancerArn,
          SecurityGroups: [sg],
          EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic: 'maybe' as 'on',
        }),
      ),
    ).rejects.toMatchObject({ name: 'ValidationError' });
  });
});

describe('an NLB created without a security group', () => {
  test('can never get one, and shows no enforcement setting', async () => {
    const lb = await nlb('no-sg');
    await expect(
      elbv2.send(new SetSecurityGroupsCommand({ LoadBalancerArn: lb.LoadBalancerArn, SecurityGroups: [sg] })),
    ).rejects.toMatchObject({ name: 'InvalidConfigurationRequestException' });
    const seen = await describe1(lb.LoadBalancerArn!);
    expect(seen.SecurityGroups ?? []).toEqual([]);
    expect(seen.EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic).toBeUndefined();
  });

  test('is forgotten when deleted', async () => {
    const lb = await nlb('gone-sg', [sg]);
    await elbv2.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: lb.LoadBalancerArn }));
    expect(fake.enforcement().has(lb.LoadBalancerArn!)).toBe(false);
  });
});
