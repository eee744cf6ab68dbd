/**
 * gcp-to-aws with resources AWS put in state `failed` (which moto never does: the
 * endpoint-connections fake overlays it), and with Describe answers split into pages (which
 * moto never does either). A failed NLB or endpoint service is seen, replaced by apply and
 * deleted by destroy; the waiter reports a failed NLB with its own code; every page is read.
 */
import {
  CreateVpcEndpointCommand,
  DescribeVpcEndpointServiceConfigurationsCommand,
} from '@aws-sdk/client-ec2';
import { DescribeLoadBalancersCommand, DescribeTagsCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { describe, expect, test } from 'vitest';
import { tagSpecifications } from '../../provisioner/aws/tags.js';
import { StepFailedError, type ProvisionError } from '../../provisioner/errors.js';
import { renderChanges } from '../../provisioner/render.js';
import { NONE, ONE_OF_EACH, taggedCounts } from './counts.js';
import { open, useWorld } from './world.js';

const world = useWorld();

async function stateOf(arn: string): Promise<string | undefined> {
  const out = await world.aws.provider.elbv2.send(
    new DescribeLoadBalancersCommand({ LoadBalancerArns: [arn] }),
  );
  return out.LoadBalancers?.[0]?.State?.Code;
}

describe('a load balancer in state failed', () => {
  test('the waiter reports it with EKL_PROVISION_NLB_FAILED; the next plan replaces it and apply does', async () => {
    const name = 'nlb-failed';
    world.fake.failNextLoadBalancer('Insufficient capacity in subnet');
    const first = await open(world, name);
    const err = (await first.deployment.apply().catch((e: unknown) => e)) as StepFailedError;
    first.deployment.close();
    expect(err).toBeInstanceOf(StepFailedError);
    expect(err.site).toMatchObject({ step: 'nlb', account: 'provider' });
    const cause = err.cause as ProvisionError;
    expect(cause.code).toBe('EKL_PROVISION_NLB_FAILED');
    expect(cause.message).toContain('Insufficient capacity in subnet');
    const [failedArn] = await taggedLbArns(name);
    expect(await stateOf(failedArn!)).toBe('failed');

    const second = await open(world, name);
    const plan = await second.deployment.plan();
    const nlbChanges = plan.steps[0]!.changes;
    expect(nlbChanges[0]).toMatchObject({
      action: 'replace',
      reason: 'it failed: Insufficient capacity in subnet',
    });
    expect(renderChanges(nlbChanges)).toContain(
      `    -/+ replace load balancer ekl-${name}: it failed: Insufficient capacity in subnet`,
    );

    await second.deployment.apply();
    const arns = await taggedLbArns(name);
    expect(arns).toHaveLength(1);
    expect(arns[0]).not.toBe(failedArn);
    expect(await stateOf(arns[0]!)).toBe('active');
    expect(await taggedCounts(world, name)).toEqual(ONE_OF_EACH);
    expect((await second.deployment.plan()).changed).toBe(0);
    await second.deployment.destroy();
    second.deployment.close();
    expect(await taggedCounts(world, name)).toEqual(NONE);
  });

  test('destroy deletes a tagged NLB that failed after apply', async () => {
    const name = 'nlb-failed-later';
    const { deployment } = await open(world, name);
    await deployment.apply();
    const [arn] = await taggedLbArns(name);
    world.fake.failLoadBalancer(arn!, 'Internal failure');
    const result = await deployment.destroy();
    deployment.close();
    expect(result.steps.find((s) => s.step === 'nlb')!.changes.map((c) => c.resource)).toContain(
      `load balancer ekl-${name}`,
    );
    expect(await taggedCounts(world, name)).toEqual(NONE);
  });
});

describe('an endpoint service in state Failed', () => {
  test('plan says replace, apply deletes it and creates a new one; destroy deletes a failed one', async () => {
    const name = 'svc-failed';
    // Stop the first apply after the endpoint service exists, before any endpoint connects.
    let cut = false;
    const first = await open(world, name, {
      observer: (call) => {
        if (!cut && call.operation === 'CreateSecurityGroup' && call.account === 'consumer') {
          cut = true;
          throw new Error('interrupted before CreateSecurityGroup');
        }
      },
    });
    await expect(first.deployment.apply()).rejects.toThrow(StepFailedError);
    first.deployment.close();
    const [failedId] = await taggedServiceIds(name);
    world.fake.failEndpointService(failedId!);

    const second = await open(world, name);
    const plan = await second.deployment.plan();
    expect(plan.steps[1]!.changes).toEqual([
      expect.objectContaining({
        action: 'replace',
        reason: expect.stringMatching(/^vpce-svc-\w+: it failed: /),
      }),
    ]);
    await second.deployment.apply();
    const ids = await taggedServiceIds(name);
    expect(ids).toHaveLength(1);
    expect(ids[0]).not.toBe(failedId);
    expect(await taggedCounts(world, name)).toEqual(ONE_OF_EACH);
    expect((await second.deployment.plan()).changed).toBe(0);

    // It fails again once no endpoint is connected (destroy removes the endpoint first).
    world.fake.failEndpointService(ids[0]!);
    await second.deployment.destroy();
    second.deployment.close();
    expect(await taggedCounts(world, name)).toEqual(NONE);
  });
});

describe('Describe answers in pages', () => {
  test('every page of DescribeVpcEndpoints and DescribeSecurityGroups is read', async () => {
    const name = 'paged';
    const { deployment } = await open(world, name);
    const outputs = (await deployment.apply()).outputs as {
      endpointServiceName: string;
      vpcEndpointId: string;
    };
    // A second endpoint carrying this deployment's tags, as a create AWS answered twice leaves.
    await world.aws.consumer.ec2.send(
      new CreateVpcEndpointCommand({
        VpcEndpointType: 'Interface',
        VpcId: world.consumer.vpcId,
        ServiceName: outputs.endpointServiceName,
        SubnetIds: [world.consumer.subnetIds[0]!],
        TagSpecifications: tagSpecifications('vpc-endpoint', name),
      }),
    );
    expect((await taggedCounts(world, name)).endpoints).toBe(2);
    world.fake.paginate('DescribeVpcEndpoints', 1);
    world.fake.paginate('DescribeSecurityGroups', 1);
    try {
      const plan = await deployment.plan();
      const step = plan.steps.find((s) => s.step === 'vpc-endpoint')!;
      expect(step.changes.filter((c) => c.action === 'delete')).toEqual([
        expect.objectContaining({
          reason: `duplicate carrying this deployment's tags; keeping ${outputs.vpcEndpointId} (in use (available))`,
        }),
      ]);
      await deployment.destroy();
    } finally {
      world.fake.paginate('DescribeVpcEndpoints', undefined);
      world.fake.paginate('DescribeSecurityGroups', undefined);
      deployment.close();
    }
    expect(await taggedCounts(world, name)).toEqual(NONE);
  });
});

async function taggedLbArns(deployment: string): Promise<string[]> {
  const lbs = (await world.aws.provider.elbv2.send(new DescribeLoadBalancersCommand({}))).LoadBalancers ?? [];
  if (lbs.length === 0) return [];
  const tags = await world.aws.provider.elbv2.send(
    new DescribeTagsCommand({ ResourceArns: lbs.map((l) => l.LoadBalancerArn!) }),
  );
  return (tags.TagDescriptions ?? [])
    .filter((d) => d.Tags?.some((t) => t.Key === 'ekslink:deployment' && t.Value === deployment))
    .map((d) => d.ResourceArn!);
}

async function taggedServiceIds(deployment: string): Promise<string[]> {
  const out = await world.aws.provider.ec2.send(new DescribeVpcEndpointServiceConfigurationsCommand({}));
  return (out.ServiceConfigurations ?? [])
    .filter((s) => s.Tags?.some((t) => t.Key === 'ekslink:deployment' && t.Value === deployment))
    .map((s) => s.ServiceId!);
}
