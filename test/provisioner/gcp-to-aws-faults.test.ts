/**
 * gcp-to-aws under faults, against moto (+ the endpoint-connections fake): an apply cut off
 * at each step resumes without duplicates; throttling and eventual consistency are retried
 * within a bound; the accept step never accepts a pending connection it did not create.
 */
import {
  AcceptVpcEndpointConnectionsCommand,
  CreateVpcEndpointCommand,
  DescribeVpcEndpointServiceConfigurationsCommand,
  RejectVpcEndpointConnectionsCommand,
} from '@aws-sdk/client-ec2';
import { describe, expect, test } from 'vitest';
import type { ProvisionError } from '../../provisioner/errors.js';
import { StepFailedError } from '../../provisioner/errors.js';
import { MSG } from '../../provisioner/engine/messages.js';
import { allowedActions } from '../../provisioner/iam/policy.js';
import { gcpToAws } from '../../provisioner/topologies/gcp-to-aws/index.js';
import type { GcpToAwsOutputs } from '../../provisioner/topologies/gcp-to-aws/outputs.js';
import { NONE, ONE_OF_EACH, taggedCounts } from './counts.js';
import { CONSUMER_ACCOUNT, PROVIDER_ACCOUNT, open, useWorld } from './world.js';

const world = useWorld();

/** An observer that throws on the first call of `operation`, as if the run were cut off there. */
function cutOffAt(operation: string) {
  let fired = false;
  return (call: { operation: string }) => {
    if (!fired && call.operation === operation) {
      fired = true;
      throw new Error(`interrupted before ${operation}`);
    }
  };
}

describe('an apply interrupted at each step resumes without duplicates', () => {
  const cases = [
    { at: 'CreateTargetGroup', step: 'nlb', account: 'provider' },
    { at: 'ModifyListenerAttributes', step: 'nlb', account: 'provider' },
    { at: 'ModifyVpcEndpointServicePermissions', step: 'endpoint-service', account: 'provider' },
    { at: 'AuthorizeSecurityGroupIngress', step: 'vpc-endpoint', account: 'consumer' },
    { at: 'CreateVpcEndpoint', step: 'vpc-endpoint', account: 'consumer' },
    { at: 'AcceptVpcEndpointConnections', step: 'accept-connection', account: 'provider' },
  ];
  test.each(cases)('cut off at $at ($step)', async ({ at, step, account }) => {
    const name = `cut-${at.toLowerCase()}`.slice(0, 28);
    const first = await open(world, name, { observer: cutOffAt(at) });
    const err = await first.deployment.apply().catch((e: unknown) => e);
    first.deployment.close();
    expect(err).toBeInstanceOf(StepFailedError);
    const failure = err as StepFailedError;
    expect(failure.code).toBe('EKL_PROVISION_STEP_FAILED');
    expect(failure.site).toMatchObject({ step, account });
    expect(failure.message).toContain(
      `step ${step} (${account} account ${account === 'provider' ? PROVIDER_ACCOUNT : CONSUMER_ACCOUNT})`,
    );
    expect(first.sink.withCode(MSG.STEP_FAILED).map((m) => m.step)).toEqual([step]);

    const second = await open(world, name);
    const result = await second.deployment.apply();
    expect(result.changed).toBeGreaterThan(0);
    expect(await taggedCounts(world, name)).toEqual(ONE_OF_EACH);
    expect((await second.deployment.plan()).changed).toBe(0);
    await second.deployment.destroy();
    second.deployment.close();
  });
});

describe('AWS realities', () => {
  test('throttling on creates is retried with backoff and creates nothing twice', async () => {
    world.fake.inject({
      service: 'elasticloadbalancing',
      action: 'CreateLoadBalancer',
      code: 'Throttling',
      times: 2,
    });
    world.fake.inject({
      service: 'ec2',
      action: 'CreateVpcEndpoint',
      code: 'RequestLimitExceeded',
      times: 2,
    });
    const { deployment, sink } = await open(world, 'throttled');
    await deployment.apply();
    const retries = sink
      .withCode(MSG.RETRY)
      .map((m) => [m.data?.operation, m.data?.awsCode, m.data?.attempt]);
    expect(retries).toEqual([
      ['CreateLoadBalancer', 'Throttling', 1],
      ['CreateLoadBalancer', 'Throttling', 2],
      ['CreateVpcEndpoint', 'RequestLimitExceeded', 1],
      ['CreateVpcEndpoint', 'RequestLimitExceeded', 2],
    ]);
    expect(world.fake.faultsServed.get('elasticloadbalancing:CreateLoadBalancer')).toBe(2);
    expect(await taggedCounts(world, 'throttled')).toEqual(ONE_OF_EACH);
    await deployment.destroy();
    deployment.close();
  });

  test('an endpoint not yet visible right after create is retried', async () => {
    const { deployment, sink } = await open(world, 'eventual', {
      observer: (call) => {
        // The next DescribeVpcEndpoints asks for the endpoint by ID (waiting for it to be available).
        if (call.operation === 'AcceptVpcEndpointConnections') {
          world.fake.inject({
            service: 'ec2',
            action: 'DescribeVpcEndpoints',
            code: 'InvalidVpcEndpointId.NotFound',
            status: 400,
          });
        }
      },
    });
    await deployment.apply();
    expect(sink.withCode(MSG.RETRY).map((m) => m.data?.awsCode)).toEqual(['InvalidVpcEndpointId.NotFound']);
    await deployment.destroy();
    deployment.close();
  });

  test('throttling past the bound fails with the AWS code, the step, the account and the resource', async () => {
    world.fake.inject({
      service: 'elasticloadbalancing',
      action: 'DescribeLoadBalancers',
      code: 'Throttling',
      times: 3,
    });
    const { deployment } = await open(world, 'bounded', { maxAttempts: 3 });
    const err = (await deployment.apply().catch((e: unknown) => e)) as StepFailedError;
    deployment.close();
    expect(err).toBeInstanceOf(StepFailedError);
    expect(err.awsCode).toBe('Throttling');
    expect(err.site).toMatchObject({ step: 'nlb', account: 'provider', resource: 'load balancers' });
    expect((err.cause as ProvisionError).code).toBe('EKL_PROVISION_RETRIES_EXHAUSTED');
    expect(err.message).toMatch(
      /^step nlb \(provider account 123456789012\) failed on load balancers: Throttling: .*after 3 attempts/,
    );
  });

  test('credentials that reach another account are refused before any change', async () => {
    const { deployment, calls } = await open(world, 'mismatch', {
      patch: (c) => void (c.provider.accountId = '999999999999'),
    });
    const err = (await deployment.plan().catch((e: unknown) => e)) as ProvisionError;
    deployment.close();
    expect(err.code).toBe('EKL_PROVISION_ACCOUNT_MISMATCH');
    expect(err.message).toContain(
      'provider.accountId is 999999999999 but its credentials belong to account 123456789012',
    );
    expect(calls.map((c) => c.operation)).toEqual(['GetCallerIdentity']);
  });
});

describe('acceptance', () => {
  test('accepts only the connection it created; a foreign pending connection is left alone', async () => {
    const name = 'guarded';
    const first = await open(world, name, { observer: cutOffAt('AcceptVpcEndpointConnections') });
    await expect(first.deployment.apply()).rejects.toThrow(StepFailedError);
    first.deployment.close();
    const ours = world.fake
      .connections()
      .find((c) => c.state === 'pendingAcceptance' && c.vpcEndpointOwner === CONSUMER_ACCOUNT)!;
    // Someone else in the allowed account asks to connect to the same service.
    const foreign = await world.aws.consumer.ec2.send(
      new CreateVpcEndpointCommand({
        VpcEndpointType: 'Interface',
        VpcId: world.consumer.vpcId,
        ServiceName: await serviceNameOf(ours.serviceId),
        SubnetIds: [world.consumer.subnetIds[0]!],
      }),
    );
    const foreignId = foreign.VpcEndpoint!.VpcEndpointId!;
    expect(foreign.VpcEndpoint!.State).toBe('pendingAcceptance');

    const second = await open(world, name);
    const plan = await second.deployment.plan();
    expect(plan.steps.at(-1)!.changes).toEqual([
      expect.objectContaining({ action: 'update', reason: expect.stringContaining('pendingAcceptance') }),
    ]);
    const result = await second.deployment.apply();
    const outputs = result.outputs as unknown as GcpToAwsOutputs;
    expect(outputs.vpcEndpointId).toBe(ours.vpcEndpointId);
    const states = Object.fromEntries(world.fake.connections().map((c) => [c.vpcEndpointId, c.state]));
    expect(states[ours.vpcEndpointId]).toBe('available');
    expect(states[foreignId]).toBe('pendingAcceptance');
    const warnings = second.sink.withCode(MSG.FOREIGN_PENDING_CONNECTION);
    expect(warnings.length).toBeGreaterThan(0);
    expect(warnings.every((w) => w.data?.vpcEndpointId === foreignId)).toBe(true);
    expect(second.calls.filter((c) => c.operation === 'AcceptVpcEndpointConnections')).toHaveLength(1);

    // The provider rejects our endpoint out of band: plan replaces it, apply re-creates and accepts.
    await world.aws.provider.ec2.send(
      new RejectVpcEndpointConnectionsCommand({
        ServiceId: ours.serviceId,
        VpcEndpointIds: [ours.vpcEndpointId],
      }),
    );
    const replan = await second.deployment.plan();
    expect(replan.steps[2]!.changes.map((c) => c.action)).toEqual(['none', 'delete', 'create']);
    const replaced = (await second.deployment.apply()).outputs as unknown as GcpToAwsOutputs;
    expect(replaced.vpcEndpointId).not.toBe(ours.vpcEndpointId);
    expect(world.fake.connections().find((c) => c.vpcEndpointId === replaced.vpcEndpointId)!.state).toBe(
      'available',
    );
    expect(world.fake.connections().find((c) => c.vpcEndpointId === foreignId)!.state).toBe(
      'pendingAcceptance',
    );
    second.deployment.close();
  });
});

describe('acceptance errors', () => {
  test('a failing DescribeVpcEndpointConnections while waiting keeps its AWS code (not "no connection")', async () => {
    let seen = 0;
    // The accept step lists connections in read, then again while waiting for ours: fail the second.
    const observer = (call: { operation: string }) => {
      if (call.operation === 'DescribeVpcEndpointConnections' && ++seen === 2)
        world.fake.inject({
          service: 'ec2',
          action: 'DescribeVpcEndpointConnections',
          code: 'UnauthorizedOperation',
        });
    };
    const first = await open(world, 'accept-denied', { observer });
    const err = (await first.deployment.apply().catch((e: unknown) => e)) as StepFailedError;
    first.deployment.close();
    expect(err).toBeInstanceOf(StepFailedError);
    expect(err.site).toMatchObject({ step: 'accept-connection', account: 'provider' });
    expect(err.awsCode).toBe('UnauthorizedOperation');
    expect((err.cause as ProvisionError).code).toBe('EKL_PROVISION_AWS_CALL_FAILED');

    const second = await open(world, 'accept-denied');
    await second.deployment.destroy();
    second.deployment.close();
  });
});

/** Someone else in the allowed account connects an endpoint of their own to the service. */
async function foreignEndpoint(serviceId: string, accept: boolean): Promise<string> {
  const out = await world.aws.consumer.ec2.send(
    new CreateVpcEndpointCommand({
      VpcEndpointType: 'Interface',
      VpcId: world.consumer.vpcId,
      ServiceName: await serviceNameOf(serviceId),
      SubnetIds: [world.consumer.subnetIds[1]!],
    }),
  );
  const id = out.VpcEndpoint!.VpcEndpointId!;
  if (accept) {
    await world.aws.provider.ec2.send(
      new AcceptVpcEndpointConnectionsCommand({ ServiceId: serviceId, VpcEndpointIds: [id] }),
    );
  }
  return id;
}

describe('destroy is never stuck', () => {
  test('foreign pending and accepted connections are rejected and reported, then the service is deleted', async () => {
    const name = 'strangers';
    const first = await open(world, name);
    const outputs = (await first.deployment.apply()).outputs as unknown as GcpToAwsOutputs;
    first.deployment.close();
    const serviceId = world.fake
      .connections()
      .find((c) => c.vpcEndpointId === outputs.vpcEndpointId)!.serviceId;
    const pending = await foreignEndpoint(serviceId, false);
    const accepted = await foreignEndpoint(serviceId, true);

    const { deployment, sink, calls } = await open(world, name);
    const result = await deployment.destroy();
    deployment.close();
    expect(await taggedCounts(world, name)).toEqual(NONE);
    const rejected = sink.withCode(MSG.FOREIGN_CONNECTION_REJECTED).map((m) => m.data);
    expect(rejected).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ serviceId, vpcEndpointId: pending, owner: CONSUMER_ACCOUNT }),
        expect.objectContaining({ serviceId, vpcEndpointId: accepted, owner: CONSUMER_ACCOUNT }),
      ]),
    );
    expect(rejected).toHaveLength(2);
    const serviceStep = result.steps.find((s) => s.step === 'endpoint-service')!;
    const resources = serviceStep.changes.map((c) => c.resource);
    expect(resources.slice(0, 2).sort()).toEqual(
      [`endpoint connection ${pending}`, `endpoint connection ${accepted}`].sort(),
    );
    expect(resources.slice(2)).toEqual([`endpoint service ${serviceId}`]);
    const states = Object.fromEntries(world.fake.connections().map((c) => [c.vpcEndpointId, c.state]));
    expect([states[pending], states[accepted]]).toEqual(['rejected', 'rejected']);
    // Our own endpoint was deleted by its step, never rejected.
    expect(states[outputs.vpcEndpointId!]).toBe('deleted');
    const allowed = allowedActions(gcpToAws.iamPolicy('provider'));
    expect(allowed.has('ec2:RejectVpcEndpointConnections')).toBe(true);
    expect(calls.filter((c) => c.operation === 'RejectVpcEndpointConnections')).toHaveLength(1);
  });

  test('a service AWS keeps refusing to delete: the error names the blocker and the command that clears it', async () => {
    const name = 'blocked';
    const first = await open(world, name);
    await first.deployment.apply();
    first.deployment.close();
    world.fake.inject({
      service: 'ec2',
      action: 'DeleteVpcEndpointServiceConfigurations',
      code: 'ExistingVpcEndpointConnections',
      times: 3,
    });
    const { deployment } = await open(world, name, { maxAttempts: 3 });
    const err = (await deployment.destroy().catch((e: unknown) => e)) as StepFailedError;
    deployment.close();
    expect(err).toBeInstanceOf(StepFailedError);
    expect((err.cause as ProvisionError).code).toBe('EKL_PROVISION_DESTROY_BLOCKED');
    expect(err.message).toMatch(
      /endpoint service vpce-svc-\w+ still has endpoint connections .*aws ec2 reject-vpc-endpoint-connections --region us-east-1 --service-id vpce-svc-\w+ --vpc-endpoint-ids/,
    );
    const again = await open(world, name);
    await again.deployment.destroy();
    again.deployment.close();
    expect(await taggedCounts(world, name)).toEqual(NONE);
  });
});

async function serviceNameOf(serviceId: string): Promise<string> {
  const out = await world.aws.provider.ec2.send(
    new DescribeVpcEndpointServiceConfigurationsCommand({ ServiceIds: [serviceId] }),
  );
  return out.ServiceConfigurations![0]!.ServiceName!;
}
