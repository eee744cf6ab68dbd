/**
 * Partitions: the default allowed principal and the printed IAM policy follow the partition
 * of the accounts (aws-cn, aws-us-gov), taken from the caller identity ARN that STS returns
 * (moto answers `arn:aws-cn:...` in a cn- region), never hard-coded to `aws`.
 */
import { describe, expect, test } from 'vitest';
import { inPartition, partitionOfArn, partitionOfRegion } from '../../provisioner/aws/partition.js';
import { MSG } from '../../provisioner/engine/messages.js';
import { gcpToAws } from '../../provisioner/topologies/gcp-to-aws/index.js';
import { peered } from '../../provisioner/topologies/peered/index.js';
import { CONSUMER_ACCOUNT, PROVIDER_ACCOUNT, open, seedNetworkIn, useWorld } from './world.js';

const world = useWorld();
/** The cluster's hostname in each partition's format (China: .eks.amazonaws.com.cn). */
const EKS_HOSTS: Record<string, string> = {
  'cn-north-1': '0123456789abcdef0123456789abcdef.yl4.cn-north-1.eks.amazonaws.com.cn',
  'us-gov-west-1': '0123456789abcdef0123456789abcdef.gr7.us-gov-west-1.eks.amazonaws.com',
  'us-east-1': '0123456789abcdef0123456789abcdef.gr7.us-east-1.eks.amazonaws.com',
};

describe('the default allowed principal is in the partition of the caller identity', () => {
  test.each([
    { region: 'cn-north-1', partition: 'aws-cn' },
    { region: 'us-gov-west-1', partition: 'aws-us-gov' },
    { region: 'us-east-1', partition: 'aws' },
  ])('$region -> $partition', async ({ region, partition }) => {
    // Preflight looks the VPCs up in the configured region: they must live there.
    const provider =
      region === 'us-east-1' ? world.provider : await seedNetworkIn(world, PROVIDER_ACCOUNT, region, '10.11');
    const consumer =
      region === 'us-east-1' ? world.consumer : await seedNetworkIn(world, CONSUMER_ACCOUNT, region, '10.21');
    const { deployment, sink } = await open(world, `part-${partition}`, {
      patch: (c) => {
        c.provider.region = region;
        c.consumer.region = region;
        c.eks.hostname = EKS_HOSTS[region]!;
        Object.assign(c.provider, provider);
        Object.assign(c.consumer, consumer);
        c.consumer.credentials!.roleArn = `arn:${partition}:iam::${CONSUMER_ACCOUNT}:role/ekslink-provisioner`;
      },
    });
    const plan = await deployment.plan();
    deployment.close();
    expect(sink.withCode(MSG.ACCOUNT_VERIFIED).map((m) => [m.account, m.data?.partition])).toEqual([
      ['provider', partition],
      ['consumer', partition],
    ]);
    const service = plan.steps.find((s) => s.step === 'endpoint-service')!.changes[0]!;
    expect(service.action).toBe('create');
    expect(service.reason).toContain(`allowed principals arn:${partition}:iam::${CONSUMER_ACCOUNT}:root`);
  });
});

describe('partition helpers and the policy builder', () => {
  test('region prefix, caller ARN, and ARN rewriting', () => {
    expect(partitionOfRegion('cn-northwest-1')).toBe('aws-cn');
    expect(partitionOfRegion('us-gov-east-1')).toBe('aws-us-gov');
    expect(partitionOfRegion('eu-west-1')).toBe('aws');
    expect(partitionOfArn('arn:aws-us-gov:sts::123456789012:assumed-role/x/y')).toBe('aws-us-gov');
    expect(partitionOfArn('arn:aws-iso:sts::123456789012:user/x')).toBeUndefined();
    expect(partitionOfArn(undefined)).toBeUndefined();
    expect(inPartition('arn:aws:ec2:*:*:vpc/*', 'aws-cn')).toBe('arn:aws-cn:ec2:*:*:vpc/*');
    expect(inPartition('*', 'aws-cn')).toBe('*');
  });

  test.each(['aws-cn', 'aws-us-gov'] as const)('every ARN of every policy is in %s', (partition) => {
    for (const topology of [gcpToAws, peered]) {
      for (const account of topology.accounts) {
        const arns = topology
          .iamPolicy(account, partition)
          .Statement.flatMap((s) => s.Resource)
          .filter((r) => r !== '*');
        expect(arns.length).toBeGreaterThan(0);
        for (const arn of arns) expect(arn.startsWith(`arn:${partition}:`), arn).toBe(true);
      }
    }
  });
});
