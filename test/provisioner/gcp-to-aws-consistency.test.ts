/**
 * gcp-to-aws against what real AWS adds to a clean state machine, played by the fake in
 * front of moto: lists in small pages and in no particular order, new resources missing
 * from tag-filtered lists for a while, answers lost after AWS acted, duplicate-permission
 * answers, NLBs slow to become active. Each case ends with exactly one of each resource and
 * nothing in use deleted.
 */
import { CreateVpcEndpointCommand, DescribeSecurityGroupsCommand } from '@aws-sdk/client-ec2';
import { describe, expect, test } from 'vitest';
import { tagSpecifications } from '../../provisioner/aws/tags.js';
import { StepFailedError } from '../../provisioner/errors.js';
import { MSG } from '../../provisioner/engine/messages.js';
import type { GcpToAwsOutputs } from '../../provisioner/topologies/gcp-to-aws/outputs.js';
import { NONE, ONE_OF_EACH, taggedCounts } from './counts.js';
import type { PagedAction } from './fake-ec2-endpoint-connections.js';
import { open, useWorld } from './world.js';

const world = useWorld();
const PAGED: PagedAction[] = [
  'DescribeVpcEndpoints',
  'DescribeSecurityGroups',
  'DescribeVpcEndpointServiceConfigurations',
  'DescribeVpcEndpointConnections',
];

async function applyFresh(name: string) {
  const { deployment, sink, calls } = await open(world, name);
  const result = await deployment.apply();
  deployment.close();
  return { outputs: result.outputs as unknown as GcpToAwsOutputs, sink, calls };
}

/** A second run changes nothing, there is one of each, and destroy leaves nothing. */
async function settled(name: string): Promise<void> {
  expect(await taggedCounts(world, name)).toEqual(ONE_OF_EACH);
  const { deployment } = await open(world, name);
  expect((await deployment.plan()).changed).toBe(0);
  await deployment.destroy();
  deployment.close();
  expect(await taggedCounts(world, name)).toEqual(NONE);
}

describe('lists as AWS gives them', () => {
  test('every list in pages of one item: apply, re-plan and destroy read every page', async () => {
    const name = 'pages-of-one';
    PAGED.forEach((a) => world.fake.paginate(a, 1));
    try {
      await applyFresh(name);
      const { deployment } = await open(world, name);
      expect((await deployment.plan()).changed).toBe(0);
      deployment.close();
    } finally {
      PAGED.forEach((a) => world.fake.paginate(a, undefined));
    }
    await settled(name);
  });

  test('newest first, with a newer duplicate endpoint: the available one is kept, the duplicate deleted', async () => {
    const name = 'reversed-dup';
    const { outputs } = await applyFresh(name);
    const dup = await world.aws.consumer.ec2.send(
      new CreateVpcEndpointCommand({
        VpcEndpointType: 'Interface',
        VpcId: world.consumer.vpcId,
        ServiceName: outputs.endpointServiceName!,
        SubnetIds: [world.consumer.subnetIds[0]!],
        TagSpecifications: tagSpecifications('vpc-endpoint', name),
      }),
    );
    const dupId = dup.VpcEndpoint!.VpcEndpointId!;
    PAGED.forEach((a) => world.fake.reverseListing(a, true));
    try {
      const { deployment, sink } = await open(world, name);
      const plan = await deployment.plan();
      const step = plan.steps.find((s) => s.step === 'vpc-endpoint')!;
      // The duplicate is planned before the kept endpoint, with what is kept and why.
      const resources = step.changes.map((c) => c.resource);
      expect(resources.indexOf(`VPC endpoint ${dupId}`)).toBeLessThan(
        resources.indexOf(`VPC endpoint ${outputs.vpcEndpointId}`),
      );
      expect(step.changes.filter((c) => c.action !== 'none')).toEqual([
        {
          action: 'delete',
          resource: `VPC endpoint ${dupId}`,
          reason: `duplicate carrying this deployment's tags; keeping ${outputs.vpcEndpointId} (in use (available))`,
        },
      ]);
      expect(sink.withCode(MSG.DUPLICATE_RESOURCE).map((m) => m.data)).toContainEqual({
        kind: 'VPC endpoint',
        kept: outputs.vpcEndpointId,
        removed: [dupId],
        why: 'in use (available)',
      });
      const applied = await deployment.apply();
      deployment.close();
      expect((applied.outputs as unknown as GcpToAwsOutputs).vpcEndpointId).toBe(outputs.vpcEndpointId);
    } finally {
      PAGED.forEach((a) => world.fake.reverseListing(a, false));
    }
    const states = Object.fromEntries(world.fake.connections().map((c) => [c.vpcEndpointId, c.state]));
    expect(states[outputs.vpcEndpointId!]).toBe('available');
    expect(states[dupId]).toBe('deleted');
    await settled(name);
  });
});

describe('creates that AWS lists by tag only later', () => {
  test('apply waits until each new resource is listed by its tags, then a re-plan finds them all', async () => {
    const name = 'lagging-tags';
    world.fake.lagTags('CreateSecurityGroup', 2);
    world.fake.lagTags('CreateVpcEndpointServiceConfiguration', 2);
    world.fake.lagTags('CreateVpcEndpoint', 3);
    const { sink } = await applyFresh(name);
    const waited = sink
      .withCode(MSG.WAITING)
      .filter((m) => m.data?.state === 'not listed by tag yet')
      .map((m) => m.step);
    // The first CreateSecurityGroup is now the NLB's (it exists before the NLB does).
    expect(waited).toEqual([
      'nlb',
      'nlb',
      'endpoint-service',
      'endpoint-service',
      'vpc-endpoint',
      'vpc-endpoint',
      'vpc-endpoint',
    ]);
    await settled(name);
  });

  test('a run cut off between the endpoint create and its tags showing: the rerun gets the same endpoint back', async () => {
    const name = 'cut-before-listed';
    const before = new Set(world.fake.connections().map((c) => c.vpcEndpointId));
    let created = false;
    const first = await open(world, name, {
      observer: (call) => {
        if (call.operation === 'CreateVpcEndpoint') {
          created = true;
          world.fake.lagTags('CreateVpcEndpoint', 4);
        } else if (created && call.operation === 'DescribeVpcEndpoints') {
          created = false;
          throw new Error('interrupted before the endpoint was listed');
        }
      },
    });
    const err = await first.deployment.apply().catch((e: unknown) => e);
    first.deployment.close();
    expect(err).toBeInstanceOf(StepFailedError);
    const ours = world.fake.connections().filter((c) => !before.has(c.vpcEndpointId));
    expect(ours).toHaveLength(1);

    const second = await open(world, name);
    // Still not listed by tag: plan must create, and the create must return the same endpoint.
    const outputs = (await second.deployment.apply()).outputs as unknown as GcpToAwsOutputs;
    second.deployment.close();
    expect(outputs.vpcEndpointId).toBe(ours[0]!.vpcEndpointId);
    expect(second.calls.filter((c) => c.operation === 'CreateVpcEndpoint')).toHaveLength(1);
    await settled(name);
  });
});

describe('answers lost after AWS acted', () => {
  test('a lost CreateVpcEndpoint answer: the retry carries the same ClientToken and gets the same endpoint', async () => {
    const name = 'lost-create';
    world.fake.dropAnswer('ec2', 'CreateVpcEndpoint');
    const { outputs, sink } = await applyFresh(name);
    expect(sink.withCode(MSG.RETRY).map((m) => [m.data?.operation, m.data?.awsCode])).toContainEqual([
      'CreateVpcEndpoint',
      'network',
    ]);
    const endpoints = world.fake.connections().filter((c) => c.state !== 'deleted' && c.vpcEndpointOwner);
    expect(endpoints.filter((c) => c.vpcEndpointId === outputs.vpcEndpointId)).toHaveLength(1);
    await settled(name);
  });

  test('a lost authorize answer: the retry meets InvalidPermission.Duplicate, which is success on our group', async () => {
    const name = 'lost-authorize';
    world.fake.dropAnswer('ec2', 'AuthorizeSecurityGroupIngress');
    const { sink } = await applyFresh(name);
    expect(sink.withCode(MSG.ALREADY_THERE).map((m) => m.data?.operation)).toEqual([
      'AuthorizeSecurityGroupIngress',
    ]);
    const groups = await world.aws.consumer.ec2.send(
      new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'tag:ekslink:deployment', Values: [name] }] }),
    );
    const rules = groups.SecurityGroups![0]!.IpPermissions!;
    expect(rules.map((r) => [r.FromPort, (r.IpRanges ?? []).map((x) => x.CidrIp)])).toEqual([
      [443, ['10.8.0.10/32']],
    ]);
    await settled(name);
  });

  test('a lost CreateSecurityGroup answer: read again before retrying, the group is adopted, not duplicated', async () => {
    const name = 'lost-group';
    world.fake.dropAnswer('ec2', 'CreateSecurityGroup');
    const { sink, calls } = await applyFresh(name);
    // One create per group (the NLB's, whose answer is lost, then the endpoint's): the lost one is not sent again.
    expect(calls.filter((c) => c.operation === 'CreateSecurityGroup').map((c) => c.account)).toEqual([
      'provider',
      'consumer',
    ]);
    expect(sink.withCode(MSG.ALREADY_THERE).map((m) => m.data?.operation)).toEqual(['CreateSecurityGroup']);
    await settled(name);
  });
});

test('an NLB that takes a while to become active is waited for', async () => {
  const name = 'slow-nlb';
  world.fake.activateAfter(3);
  try {
    const { sink } = await applyFresh(name);
    expect(
      sink
        .withCode(MSG.WAITING)
        .filter((m) => m.step === 'nlb')
        .map((m) => m.message),
    ).toEqual([
      `load balancer ekl-${name}: provisioning`,
      `load balancer ekl-${name}: provisioning`,
      `load balancer ekl-${name}: provisioning`,
    ]);
  } finally {
    world.fake.activateAfter(0);
  }
  await settled(name);
});
