/** The endpoint-connections fake's own tests: the state machine and error shapes of its spec. */
import {
  AcceptVpcEndpointConnectionsCommand,
  CreateVpcEndpointCommand,
  CreateVpcEndpointServiceConfigurationCommand,
  DeleteVpcEndpointServiceConfigurationsCommand,
  DeleteVpcEndpointsCommand,
  CreateSecurityGroupCommand,
  DeleteSecurityGroupCommand,
  DescribeSecurityGroupsCommand,
  DescribeVpcEndpointConnectionsCommand,
  DescribeVpcEndpointServiceConfigurationsCommand,
  DescribeVpcEndpointsCommand,
  ModifyVpcEndpointServicePermissionsCommand,
  RejectVpcEndpointConnectionsCommand,
} from '@aws-sdk/client-ec2';
import {
  CreateLoadBalancerCommand,
  DeleteLoadBalancerCommand,
  DescribeLoadBalancersCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mapSetItems, pageOf, reverseSetItems } from './fake-ec2-endpoint-connections.js';
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

  test('failed states moto never produces: NLB provisioning -> failed with a reason; endpoint service Failed', async () => {
    world.fake.failNextLoadBalancer('Insufficient capacity');
    const created = (
      await world.aws.provider.elbv2.send(
        new CreateLoadBalancerCommand({
          Name: 'fake-failed',
          Type: 'network',
          Scheme: 'internal',
          Subnets: world.provider.subnetIds,
        }),
      )
    ).LoadBalancers![0]!;
    expect(created.State).toEqual({ Code: 'provisioning' });
    const describe = async (arn: string) =>
      (await world.aws.provider.elbv2.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [arn] })))
        .LoadBalancers![0]!.State;
    expect(await describe(created.LoadBalancerArn!)).toEqual({
      Code: 'failed',
      Reason: 'Insufficient capacity',
    });
    // Only that one: the next create is active as usual.
    const other = (
      await world.aws.provider.elbv2.send(
        new CreateLoadBalancerCommand({
          Name: 'fake-ok',
          Type: 'network',
          Subnets: world.provider.subnetIds,
        }),
      )
    ).LoadBalancers![0]!;
    expect(await describe(other.LoadBalancerArn!)).toEqual({ Code: 'active' });
    world.fake.failLoadBalancer(other.LoadBalancerArn!, 'Internal failure');
    expect(await describe(other.LoadBalancerArn!)).toEqual({ Code: 'failed', Reason: 'Internal failure' });
    for (const lb of [created, other])
      await world.aws.provider.elbv2.send(
        new DeleteLoadBalancerCommand({ LoadBalancerArn: lb.LoadBalancerArn }),
      );
    const left = (await world.aws.provider.elbv2.send(new DescribeLoadBalancersCommand({}))).LoadBalancers!;
    expect(left.map((l) => l.LoadBalancerName)).not.toContain('fake-failed');

    const svc = (
      await world.aws.provider.ec2.send(
        new CreateVpcEndpointServiceConfigurationCommand({
          NetworkLoadBalancerArns: [left[0]!.LoadBalancerArn!],
        }),
      )
    ).ServiceConfiguration!;
    const stateOf = async () =>
      (
        await world.aws.provider.ec2.send(
          new DescribeVpcEndpointServiceConfigurationsCommand({ ServiceIds: [svc.ServiceId!] }),
        )
      ).ServiceConfigurations?.[0]?.ServiceState;
    expect(await stateOf()).toBe('Available');
    world.fake.failEndpointService(svc.ServiceId!);
    expect(await stateOf()).toBe('Failed');
    const deleted = await world.aws.provider.ec2.send(
      new DeleteVpcEndpointServiceConfigurationsCommand({ ServiceIds: [svc.ServiceId!] }),
    );
    expect(deleted.Unsuccessful ?? []).toEqual([]);
  });

  test('paginate: DescribeSecurityGroups in pages with nextToken until every item was served', async () => {
    const ids: string[] = [];
    for (const n of [1, 2, 3]) {
      const out = await world.aws.consumer.ec2.send(
        new CreateSecurityGroupCommand({
          GroupName: `fake-page-${n}`,
          Description: 'x',
          VpcId: world.consumer.vpcId,
        }),
      );
      ids.push(out.GroupId!);
    }
    const all = async () => {
      const seen: string[] = [];
      const tokens: (string | undefined)[] = [];
      let token: string | undefined;
      do {
        const out = await world.aws.consumer.ec2.send(
          new DescribeSecurityGroupsCommand({
            Filters: [{ Name: 'group-id', Values: ids }],
            NextToken: token,
          }),
        );
        seen.push(...out.SecurityGroups!.map((g) => g.GroupId!));
        token = out.NextToken;
        tokens.push(token);
      } while (token && tokens.length < 10);
      return { seen, tokens };
    };
    world.fake.paginate('DescribeSecurityGroups', 2);
    try {
      const paged = await all();
      expect(paged.tokens).toEqual(['fake-page-2', undefined]);
      expect(paged.seen.sort()).toEqual([...ids].sort());
    } finally {
      world.fake.paginate('DescribeSecurityGroups', undefined);
    }
    expect((await all()).tokens).toEqual([undefined]);
    for (const GroupId of ids) await world.aws.consumer.ec2.send(new DeleteSecurityGroupCommand({ GroupId }));
  });

  test('ClientToken: the same token and request answer the first create again; other parameters are IdempotentParameterMismatch', async () => {
    const request = {
      VpcEndpointType: 'Interface' as const,
      VpcId: world.consumer.vpcId,
      ServiceName: serviceName,
      SubnetIds: [world.consumer.subnetIds[0]!],
      ClientToken: 'fake-test-token-1',
    };
    const first = (await world.aws.consumer.ec2.send(new CreateVpcEndpointCommand(request))).VpcEndpoint!;
    const again = (await world.aws.consumer.ec2.send(new CreateVpcEndpointCommand(request))).VpcEndpoint!;
    expect(again.VpcEndpointId).toBe(first.VpcEndpointId);
    const mismatch = await world.aws.consumer.ec2
      .send(new CreateVpcEndpointCommand({ ...request, SubnetIds: [world.consumer.subnetIds[1]!] }))
      .catch((e: unknown) => e);
    expect((mismatch as Error).name).toBe('IdempotentParameterMismatch');
    const mine = (
      await world.aws.consumer.ec2.send(new DescribeVpcEndpointsCommand({}))
    ).VpcEndpoints!.filter((e) => e.VpcEndpointId === first.VpcEndpointId);
    expect(mine).toHaveLength(1);
    await world.aws.consumer.ec2.send(
      new DeleteVpcEndpointsCommand({ VpcEndpointIds: [first.VpcEndpointId!] }),
    );
  });

  test('lagTags: a new resource is missing from tag-filtered lists for N answers, but found by ID at once', async () => {
    world.fake.lagTags('CreateSecurityGroup', 2);
    const created = await world.aws.consumer.ec2.send(
      new CreateSecurityGroupCommand({
        GroupName: 'fake-lagged',
        Description: 'x',
        VpcId: world.consumer.vpcId,
        TagSpecifications: [{ ResourceType: 'security-group', Tags: [{ Key: 'lag', Value: 'yes' }] }],
      }),
    );
    const byTag = async () =>
      (
        await world.aws.consumer.ec2.send(
          new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'tag:lag', Values: ['yes'] }] }),
        )
      ).SecurityGroups!.map((g) => g.GroupId);
    const byId = await world.aws.consumer.ec2.send(
      new DescribeSecurityGroupsCommand({ GroupIds: [created.GroupId!] }),
    );
    expect(byId.SecurityGroups!.map((g) => g.GroupId)).toEqual([created.GroupId]);
    expect([await byTag(), await byTag(), await byTag()]).toEqual([[], [], [created.GroupId]]);
    await world.aws.consumer.ec2.send(new DeleteSecurityGroupCommand({ GroupId: created.GroupId! }));
  });

  test('reverseListing: newest first; dropAnswer: carried out, but the caller gets no answer', async () => {
    const ids: string[] = [];
    world.fake.dropAnswer('ec2', 'CreateSecurityGroup');
    const lost = await world.aws.consumer.ec2
      .send(
        new CreateSecurityGroupCommand({
          GroupName: 'fake-order-0',
          Description: 'x',
          VpcId: world.consumer.vpcId,
        }),
      )
      .catch((e: unknown) => e);
    expect((lost as NodeJS.ErrnoException).code ?? (lost as Error).name).toMatch(
      /ECONNRESET|socket hang up|TimeoutError/,
    );
    for (const n of [1, 2]) {
      const out = await world.aws.consumer.ec2.send(
        new CreateSecurityGroupCommand({
          GroupName: `fake-order-${n}`,
          Description: 'x',
          VpcId: world.consumer.vpcId,
        }),
      );
      ids.push(out.GroupId!);
    }
    const names = async () =>
      (
        await world.aws.consumer.ec2.send(
          new DescribeSecurityGroupsCommand({
            Filters: [{ Name: 'group-name', Values: ['fake-order-0', 'fake-order-1', 'fake-order-2'] }],
          }),
        )
      ).SecurityGroups!;
    const inOrder = (await names()).map((g) => g.GroupName);
    // The dropped create was carried out: its group exists.
    expect([...inOrder].sort()).toEqual(['fake-order-0', 'fake-order-1', 'fake-order-2']);
    world.fake.reverseListing('DescribeSecurityGroups', true);
    try {
      expect((await names()).map((g) => g.GroupName)).toEqual([...inOrder].reverse());
    } finally {
      world.fake.reverseListing('DescribeSecurityGroups', false);
    }
    for (const g of await names())
      await world.aws.consumer.ec2.send(new DeleteSecurityGroupCommand({ GroupId: g.GroupId! }));
  });

  test('activateAfter: a new NLB answers provisioning for N looks, then active', async () => {
    world.fake.activateAfter(2);
    try {
      const lb = (
        await world.aws.provider.elbv2.send(
          new CreateLoadBalancerCommand({
            Name: 'fake-slow',
            Type: 'network',
            Scheme: 'internal',
            Subnets: world.provider.subnetIds,
          }),
        )
      ).LoadBalancers![0]!;
      expect(lb.State?.Code).toBe('provisioning');
      const look = async () =>
        (
          await world.aws.provider.elbv2.send(
            new DescribeLoadBalancersCommand({ LoadBalancerArns: [lb.LoadBalancerArn!] }),
          )
        ).LoadBalancers![0]!.State?.Code;
      expect([await look(), await look(), await look()]).toEqual(['provisioning', 'provisioning', 'active']);
      await world.aws.provider.elbv2.send(
        new DeleteLoadBalancerCommand({ LoadBalancerArn: lb.LoadBalancerArn! }),
      );
    } finally {
      world.fake.activateAfter(0);
    }
  });

  test('reverseSetItems reverses top-level items only', () => {
    const xml = '<r><set><item><i>1</i><s><item>x</item></s></item><item><i>2</i></item></set></r>';
    expect(reverseSetItems(xml, 'set')).toBe(
      '<r><set><item><i>2</i></item><item><i>1</i><s><item>x</item></s></item></set></r>',
    );
  });

  test('pageOf keeps the items of one page and adds nextToken only when more remain', () => {
    const xml =
      '<R><requestId>r</requestId><set><item><i>1</i></item><item><i>2</i></item><item><i>3</i></item></set></R>';
    expect(pageOf(xml, 'set', 0, 2)).toBe(
      '<R><nextToken>fake-page-2</nextToken><requestId>r</requestId><set><item><i>1</i></item><item><i>2</i></item></set></R>',
    );
    expect(pageOf(xml, 'set', 2, 2)).toBe('<R><requestId>r</requestId><set><item><i>3</i></item></set></R>');
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
