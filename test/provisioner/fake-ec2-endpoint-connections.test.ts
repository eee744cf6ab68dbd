/** The endpoint-connections fake's own tests: the state machine and error shapes of its spec. */
import {
  AcceptVpcEndpointConnectionsCommand,
  CreateVpcEndpointCommand,
  CreateVpcEndpointServiceConfigurationCommand,
  DeleteVpcEndpointServiceConfigurationsCommand,
  DeleteVpcEndpointsCommand,
  DescribeVpcEndpointConnectionsCommand,
  DescribeVpcEndpointsCommand,
  ModifyVpcEndpointServicePermissionsCommand,
  RejectVpcEndpointConnectionsCommand,
} from '@aws-sdk/client-ec2';
import {
  CreateLoadBalancerCommand,
  DescribeLoadBalancersCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mapSetItems } from './fake-ec2-endpoint-connections.js';
import { CONSUMER_ACCOUNT, PROVIDER_ACCOUNT, startWorld, type World } from './world.js';

let world: World;
let serviceId: string;
let serviceName: string;
beforeAll(async () => {
  world = await startWorld();
  const lb = await world.aws.provider.elbv2.send(
    new CreateLoadBalancerCommand({
      Name: 'fake-test',
      Type: 'network',
      Scheme: 'internal',
      Subnets: world.provider.subnetIds,
    }),
  );
  const svc = await world.aws.provider.ec2.send(
    new CreateVpcEndpointServiceConfigurationCommand({
      AcceptanceRequired: true,
      NetworkLoadBalancerArns: [lb.LoadBalancers![0]!.LoadBalancerArn!],
    }),
  );
  serviceId = svc.ServiceConfiguration!.ServiceId!;
  serviceName = svc.ServiceConfiguration!.ServiceName!;
}, 60_000);
afterAll(async () => {
  await world?.stop();
});

const createEndpoint = () =>
  world.aws.consumer.ec2.send(
    new CreateVpcEndpointCommand({
      VpcEndpointType: 'Interface',
      VpcId: world.consumer.vpcId,
      ServiceName: serviceName,
      SubnetIds: [world.consumer.subnetIds[0]!],
    }),
  );
const accept = (ids: string[]) =>
  world.aws.provider.ec2.send(
    new AcceptVpcEndpointConnectionsCommand({ ServiceId: serviceId, VpcEndpointIds: ids }),
  );
const endpointState = async (id: string) =>
  (await world.aws.consumer.ec2.send(new DescribeVpcEndpointsCommand({ VpcEndpointIds: [id] })))
    .VpcEndpoints![0]!.State;

describe('endpoint connections fake', () => {
  test('an account that is not an allowed principal cannot create an endpoint (InvalidServiceName)', async () => {
    await expect(createEndpoint()).rejects.toMatchObject({ name: 'InvalidServiceName' });
  });

  test('pendingAcceptance -> accept -> pending -> available; visible only to the service owner', async () => {
    await world.aws.provider.ec2.send(
      new ModifyVpcEndpointServicePermissionsCommand({
        ServiceId: serviceId,
        AddAllowedPrincipals: [`arn:aws:iam::${CONSUMER_ACCOUNT}:root`],
      }),
    );
    const ep = (await createEndpoint()).VpcEndpoint!;
    expect(ep.State).toBe('pendingAcceptance');
    expect(await endpointState(ep.VpcEndpointId!)).toBe('pendingAcceptance');
    const listed = await world.aws.provider.ec2.send(
      new DescribeVpcEndpointConnectionsCommand({ Filters: [{ Name: 'service-id', Values: [serviceId] }] }),
    );
    expect(listed.VpcEndpointConnections).toEqual([
      expect.objectContaining({
        ServiceId: serviceId,
        VpcEndpointId: ep.VpcEndpointId,
        VpcEndpointOwner: CONSUMER_ACCOUNT,
        VpcEndpointState: 'pendingAcceptance',
      }),
    ]);
    const asConsumer = await world.aws.consumer.ec2.send(new DescribeVpcEndpointConnectionsCommand({}));
    expect(asConsumer.VpcEndpointConnections ?? []).toEqual([]);
    // Only the owner may accept.
    await expect(
      world.aws.consumer.ec2.send(
        new AcceptVpcEndpointConnectionsCommand({
          ServiceId: serviceId,
          VpcEndpointIds: [ep.VpcEndpointId!],
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidVpcEndpointServiceId.NotFound' });

    expect((await accept([ep.VpcEndpointId!])).Unsuccessful ?? []).toEqual([]);
    expect(await endpointState(ep.VpcEndpointId!)).toBe('pending');
    expect(await endpointState(ep.VpcEndpointId!)).toBe('available');
    const again = await accept([ep.VpcEndpointId!]);
    expect(again.Unsuccessful).toEqual([
      {
        ResourceId: ep.VpcEndpointId,
        Error: { Code: 'InvalidState', Message: expect.stringContaining('available') },
      },
    ]);
  });

  test('accepting an unknown endpoint reports it in Unsuccessful; others in the call still succeed', async () => {
    const ep = (await createEndpoint()).VpcEndpoint!;
    const out = await accept(['vpce-0123456789abcdef0', ep.VpcEndpointId!]);
    expect(out.Unsuccessful).toEqual([
      {
        ResourceId: 'vpce-0123456789abcdef0',
        Error: { Code: 'InvalidVpcEndpointId.NotFound', Message: expect.any(String) },
      },
    ]);
    expect(world.fake.connections().find((c) => c.vpcEndpointId === ep.VpcEndpointId)!.state).toBe('pending');
  });

  test('reject, delete, and a service with live connections cannot be deleted', async () => {
    const ep = (await createEndpoint()).VpcEndpoint!;
    await world.aws.provider.ec2.send(
      new RejectVpcEndpointConnectionsCommand({ ServiceId: serviceId, VpcEndpointIds: [ep.VpcEndpointId!] }),
    );
    expect(await endpointState(ep.VpcEndpointId!)).toBe('rejected');
    const blocked = await world.aws.provider.ec2.send(
      new DeleteVpcEndpointServiceConfigurationsCommand({ ServiceIds: [serviceId] }),
    );
    expect(blocked.Unsuccessful).toEqual([
      {
        ResourceId: serviceId,
        Error: { Code: 'ExistingVpcEndpointConnections', Message: expect.any(String) },
      },
    ]);
    const live = world.fake.connections().filter((c) => c.serviceId === serviceId && c.state !== 'rejected');
    await world.aws.consumer.ec2.send(
      new DeleteVpcEndpointsCommand({ VpcEndpointIds: live.map((c) => c.vpcEndpointId) }),
    );
    expect(
      world.fake
        .connections()
        .filter((c) => c.serviceId === serviceId)
        .map((c) => c.state)
        .sort(),
    ).toEqual(['deleted', 'deleted', 'rejected']);
    const ok = await world.aws.provider.ec2.send(
      new DeleteVpcEndpointServiceConfigurationsCommand({ ServiceIds: [serviceId] }),
    );
    expect(ok.Unsuccessful ?? []).toEqual([]);
  });

  test('other requests reach moto unchanged; injected faults use the real error shapes', async () => {
    world.fake.inject({
      service: 'elasticloadbalancing',
      action: 'DescribeLoadBalancers',
      code: 'Throttling',
    });
    await expect(world.aws.provider.elbv2.send(new DescribeLoadBalancersCommand({}))).rejects.toMatchObject({
      name: 'Throttling',
      $metadata: { httpStatusCode: 400 },
    });
    world.fake.inject({ service: 'ec2', action: 'DescribeVpcEndpoints', code: 'RequestLimitExceeded' });
    await expect(world.aws.provider.ec2.send(new DescribeVpcEndpointsCommand({}))).rejects.toMatchObject({
      name: 'RequestLimitExceeded',
      $metadata: { httpStatusCode: 503 },
    });
    const lbs = await world.aws.provider.elbv2.send(new DescribeLoadBalancersCommand({}));
    expect(lbs.LoadBalancers!.map((l) => l.LoadBalancerName)).toContain('fake-test');
    expect(lbs.LoadBalancers![0]!.LoadBalancerArn).toContain(`:${PROVIDER_ACCOUNT}:`);
  });

  test('mapSetItems rewrites top-level items only', () => {
    const xml =
      '<r><vpcEndpointSet><item><id>a</id><tagSet><item><k>x</k></item></tagSet></item><item><id>b</id></item></vpcEndpointSet><other><item/></other></r>';
    const out = mapSetItems(xml, 'vpcEndpointSet', (item) => item.replace('<id>', '<id>#'));
    expect(out).toBe(
      '<r><vpcEndpointSet><item><id>#a</id><tagSet><item><k>x</k></item></tagSet></item><item><id>#b</id></item></vpcEndpointSet><other><item/></other></r>',
    );
  });
});
