/**
 * gcp-to-aws with IAM enforced: each account's role holds exactly what `iam-policy` prints
 * (with `--config`, and the tag-scoped form without it), the operator's own identity may
 * only assume the two roles, and every request goes through the IAM front (fake-iam.md) in
 * front of the endpoint-connections fake, the NLB fake and moto. plan / apply / drift
 * correction / a config change / destroy with foreign connections all succeed, no request
 * is denied, and every printed statement allowed some call.
 */
import {
  AcceptVpcEndpointConnectionsCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateSubnetCommand,
  CreateVpcEndpointCommand,
  DescribeSecurityGroupsCommand,
  DescribeVpcEndpointServiceConfigurationsCommand,
  ModifyVpcEndpointCommand,
  ModifyVpcEndpointServiceConfigurationCommand,
  ModifyVpcEndpointServicePermissionsCommand,
} from '@aws-sdk/client-ec2';
import {
  CreateTargetGroupCommand,
  DescribeLoadBalancersCommand,
  DescribeListenersCommand,
  ModifyListenerCommand,
  ModifyTargetGroupAttributesCommand,
  ModifyTargetGroupCommand,
  SetSubnetsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { MSG } from '../../provisioner/engine/messages.js';
import type { PolicyDocument } from '../../provisioner/iam/policy.js';
import {
  gcpToAwsConfigSchema,
  type GcpToAwsConfigInput,
} from '../../provisioner/topologies/gcp-to-aws/config.js';
import { gcpToAws } from '../../provisioner/topologies/gcp-to-aws/index.js';
import type { GcpToAwsOutputs } from '../../provisioner/topologies/gcp-to-aws/outputs.js';
import { NONE, ONE_OF_EACH, taggedCounts } from './counts.js';
import { startIamFront, type IamFront } from './fake-iam.js';
import { notAllowed, unusedGrants } from './iam-coverage.js';
import { CONSUMER_ACCOUNT, PROVIDER_ACCOUNT, open, startWorld, type World } from './world.js';

const ROLE = {
  provider: `arn:aws:iam::${PROVIDER_ACCOUNT}:role/ekslink-provisioner`,
  consumer: `arn:aws:iam::${CONSUMER_ACCOUNT}:role/ekslink-provisioner`,
} as const;

let world: World;
let front: IamFront;
/** A third provider subnet (zone c): what the NLB's subnets drift to. */
let spareSubnet: string;
/** A third consumer subnet (zone c): what the endpoint's subnets drift to. */
let spareConsumerSubnet: string;
beforeAll(async () => {
  world = await startWorld();
  spareConsumerSubnet = (
    await world.aws.consumer.ec2.send(
      new CreateSubnetCommand({
        VpcId: world.consumer.vpcId,
        CidrBlock: '10.20.3.0/24',
        AvailabilityZone: 'us-east-1c',
      }),
    )
  ).Subnet!.SubnetId!;
  spareSubnet = (
    await world.aws.provider.ec2.send(
      new CreateSubnetCommand({
        VpcId: world.provider.vpcId,
        CidrBlock: '10.10.3.0/24',
        AvailabilityZone: 'us-east-1c',
      }),
    )
  ).Subnet!.SubnetId!;
  front = await startIamFront({
    motoUrl: world.moto.url,
    accounts: [PROVIDER_ACCOUNT, CONSUMER_ACCOUNT],
    upstreams: { ec2: world.fake.url, elasticloadbalancing: world.fake.url, sts: world.moto.url },
  });
  // The operator's own credentials (the profile) may do one thing: assume the two roles.
  const operator = await front.principalOf('AKIAEKSLINKTEST');
  front.setPolicies(operator.principal, [
    {
      Statement: [
        {
          Sid: 'AssumeTheProvisionerRoles',
          Effect: 'Allow',
          Action: 'sts:AssumeRole',
          Resource: [ROLE.provider, ROLE.consumer],
        },
      ],
    },
  ]);
}, 60_000);
afterAll(async () => {
  await front?.stop();
  await world?.stop();
});

/** Each account reached through its role, every endpoint the IAM front. */
function throughFront(patch?: (c: GcpToAwsConfigInput) => void) {
  return (c: GcpToAwsConfigInput) => {
    const endpoints = { ec2: front.url, elbv2: front.url, sts: front.url };
    c.provider.endpoints = endpoints;
    c.consumer.endpoints = endpoints;
    c.provider.credentials = { profile: 'ekslink-test', roleArn: ROLE.provider };
    patch?.(c);
  };
}

async function defaultGroupOf(vpcId: string): Promise<string> {
  const out = await world.aws.consumer.ec2.send(
    new DescribeSecurityGroupsCommand({
      Filters: [
        { Name: 'vpc-id', Values: [vpcId] },
        { Name: 'group-name', Values: ['default'] },
      ],
    }),
  );
  return out.SecurityGroups![0]!.GroupId!;
}

/** The deployment's NLB ARN (`ekl-<name>`). */
async function lbArnOf(name: string, prefix: string): Promise<string> {
  const out = await world.aws.provider.elbv2.send(
    new DescribeLoadBalancersCommand({ Names: [`ekl-${name}`] }),
  );
  const arn = out.LoadBalancers![0]!.LoadBalancerArn!;
  expect(arn.startsWith(prefix.split(':').slice(0, 5).join(':'))).toBe(true);
  return arn;
}

async function serviceNameOf(serviceId: string): Promise<string> {
  const out = await world.aws.provider.ec2.send(
    new DescribeVpcEndpointServiceConfigurationsCommand({ ServiceIds: [serviceId] }),
  );
  return out.ServiceConfigurations![0]!.ServiceName!;
}

/** Someone else's endpoint on our service (made outside the front, as its owner would). */
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
  if (accept)
    await world.aws.provider.ec2.send(
      new AcceptVpcEndpointConnectionsCommand({ ServiceId: serviceId, VpcEndpointIds: [id] }),
    );
  return id;
}

/**
 * Out-of-band drift that apply must correct, one of each kind the steps repair: a target-group
 * attribute and health check, the listener's target, the NLB's subnets, the service's
 * acceptance setting and principals, an inbound rule on the NLB's group.
 */
async function drift(name: string, outputs: GcpToAwsOutputs): Promise<void> {
  const { elbv2, ec2 } = world.aws.provider;
  await elbv2.send(
    new ModifyTargetGroupCommand({ TargetGroupArn: outputs.targetGroupArn!, HealthCheckIntervalSeconds: 30 }),
  );
  const stray = await elbv2.send(
    new CreateTargetGroupCommand({
      Name: `stray-${name}`,
      Protocol: 'TCP',
      Port: 443,
      VpcId: world.provider.vpcId,
      TargetType: 'instance',
    }),
  );
  const lbArn = outputs.targetGroupArn!.replace(/:targetgroup\/.*$/, '');
  const listeners = await elbv2.send(
    new DescribeListenersCommand({ LoadBalancerArn: await lbArnOf(name, lbArn) }),
  );
  await elbv2.send(
    new ModifyListenerCommand({
      ListenerArn: listeners.Listeners![0]!.ListenerArn!,
      DefaultActions: [{ Type: 'forward', TargetGroupArn: stray.TargetGroups![0]!.TargetGroupArn! }],
    }),
  );
  await elbv2.send(
    new SetSubnetsCommand({
      LoadBalancerArn: await lbArnOf(name, lbArn),
      Subnets: [world.provider.subnetIds[0]!, spareSubnet],
    }),
  );
  await ec2.send(
    new ModifyVpcEndpointServiceConfigurationCommand({
      ServiceId: outputs.endpointServiceId!,
      AcceptanceRequired: false,
    }),
  );
  await world.aws.consumer.ec2.send(
    new ModifyVpcEndpointCommand({
      VpcEndpointId: outputs.vpcEndpointId!,
      RemoveSubnetIds: [world.consumer.subnetIds[1]!],
      AddSubnetIds: [spareConsumerSubnet],
      // The VPC's default group in place of ours: a group the deployment does not own.
      AddSecurityGroupIds: [await defaultGroupOf(world.consumer.vpcId)],
      RemoveSecurityGroupIds: [outputs.vpcEndpointSecurityGroupId!],
    }),
  );
  await world.aws.provider.elbv2.send(
    new ModifyTargetGroupAttributesCommand({
      TargetGroupArn: outputs.targetGroupArn!,
      Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '10' }],
    }),
  );
  await world.aws.provider.ec2.send(
    new ModifyVpcEndpointServicePermissionsCommand({
      ServiceId: outputs.endpointServiceId!,
      AddAllowedPrincipals: ['arn:aws:iam::333333333333:root'],
    }),
  );
  await world.aws.provider.ec2.send(
    new AuthorizeSecurityGroupIngressCommand({
      GroupId: outputs.loadBalancerSecurityGroupId!,
      IpPermissions: [
        { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '10.10.0.0/16' }] },
      ],
    }),
  );
}

/** The whole life of one deployment through the front; returns the log entries it made. */
async function lifecycle(name: string) {
  const from = front.log.length;
  const run = async (patch?: (c: GcpToAwsConfigInput) => void) =>
    open(world, name, { patch: throughFront(patch) });

  const a = await run();
  expect((await a.deployment.plan()).changed).toBeGreaterThan(0);
  const outputs = (await a.deployment.apply()).outputs as unknown as GcpToAwsOutputs;
  expect((await a.deployment.apply()).changed).toBe(0);
  a.deployment.close();
  expect(await taggedCounts(world, name)).toEqual(ONE_OF_EACH);

  await drift(name, outputs);
  const b = await run();
  expect((await b.deployment.apply()).changed).toBeGreaterThanOrEqual(7);
  expect((await b.deployment.plan()).changed).toBe(0);
  b.deployment.close();

  const c = await run((cfg) => {
    cfg.provider.nlb = { ...cfg.provider.nlb, idleTimeoutSec: 1800 };
    cfg.consumer.allowedCidrs = ['10.8.0.10/32', '10.8.0.11/32'];
  });
  expect((await c.deployment.apply()).changed).toBe(2);
  c.deployment.close();
  // A CIDR dropped from the config: its rule is revoked.
  const c2 = await run((cfg) => {
    cfg.provider.nlb = { ...cfg.provider.nlb, idleTimeoutSec: 1800 };
    cfg.consumer.allowedCidrs = ['10.8.0.11/32'];
  });
  expect((await c2.deployment.apply()).changed).toBe(1);
  c2.deployment.close();

  const serviceId = world.fake
    .connections()
    .find((x) => x.vpcEndpointId === outputs.vpcEndpointId)!.serviceId;
  await foreignEndpoint(serviceId, false);
  const d = await run();
  await d.deployment.destroy();
  expect(d.sink.withCode(MSG.FOREIGN_CONNECTION_REJECTED)).toHaveLength(1);
  d.deployment.close();
  expect(await taggedCounts(world, name)).toEqual(NONE);
  return front.log.slice(from);
}

describe.each([
  { form: 'with --config', scoped: true, name: 'iam-scoped' },
  { form: 'tag-scoped (no --config)', scoped: false, name: 'iam-tags' },
])('gcp-to-aws under the printed policies, $form', ({ scoped, name }) => {
  const policies: Record<'provider' | 'consumer', PolicyDocument> = {} as never;
  beforeAll(() => {
    const config = gcpToAwsConfigSchema.parse(world.config(name, throughFront()));
    for (const account of ['provider', 'consumer'] as const) {
      policies[account] = gcpToAws.iamPolicy(account, 'aws', scoped ? config : undefined);
      front.setPolicies(ROLE[account], [policies[account]]);
    }
  });

  test('plan, apply, drift, a config change and destroy: no request denied; every statement used', async () => {
    const log = await lifecycle(name);
    expect(front.failures).toEqual([]);
    expect(notAllowed(log)).toEqual([]);
    for (const account of ['provider', 'consumer'] as const) {
      expect(log.filter((c) => c.principal === ROLE[account]).length, account).toBeGreaterThan(10);
      expect(
        unusedGrants(policies[account], ROLE[account], log),
        `${account}: statements no call used`,
      ).toEqual([]);
    }
  }, 120_000);
});

test('a printed policy missing one statement: apply stops on AccessDenied naming the action and the resource', async () => {
  const full = gcpToAws.iamPolicy('provider');
  const withoutTagging = {
    ...full,
    Statement: full.Statement.filter((st) => !st.Action.includes('elasticloadbalancing:AddTags')),
  };
  front.setPolicies(ROLE.provider, [withoutTagging]);
  front.setPolicies(ROLE.consumer, [gcpToAws.iamPolicy('consumer')]);
  const { deployment } = await open(world, 'iam-short', { patch: throughFront() });
  try {
    await expect(deployment.apply()).rejects.toMatchObject({
      site: { step: 'nlb' },
      cause: { awsCode: 'AccessDenied', operation: 'CreateLoadBalancer' },
    });
  } finally {
    await deployment.destroy();
    deployment.close();
  }
  const denied = front.log.filter((c) => c.outcome === 'denied');
  expect(denied.map((c) => c.operation)).toEqual(['CreateLoadBalancer']);
  expect(denied[0]!.authorizations.filter((a) => a.decision !== 'allow').map((a) => a.action)).toEqual([
    'elasticloadbalancing:AddTags',
  ]);
}, 60_000);
