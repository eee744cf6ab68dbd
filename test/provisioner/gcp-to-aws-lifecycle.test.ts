/**
 * gcp-to-aws against moto (+ the endpoint-connections fake): plan on empty, apply, a second
 * apply that changes nothing, drift shown and corrected, destroy of only this deployment,
 * destroy twice, and the IAM policy covering every call made.
 */
import {
  AuthorizeSecurityGroupIngressCommand,
  ModifyVpcEndpointServicePermissionsCommand,
  DescribeVpcEndpointServicePermissionsCommand,
  DescribeVpcEndpointServiceConfigurationsCommand,
  DescribeVpcEndpointsCommand,
  DescribeSecurityGroupsCommand,
} from '@aws-sdk/client-ec2';
import {
  CreateLoadBalancerCommand,
  DescribeListenerAttributesCommand,
  DescribeListenersCommand,
  DescribeLoadBalancerAttributesCommand,
  DescribeLoadBalancersCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand,
  ModifyTargetGroupAttributesCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { parse } from 'yaml';
import { describe, expect, test } from 'vitest';
import { deploymentTags } from '../../provisioner/aws/tags.js';
import { MSG } from '../../provisioner/engine/messages.js';
import { allowedActions } from '../../provisioner/iam/policy.js';
import { gcpToAws } from '../../provisioner/topologies/gcp-to-aws/index.js';
import type { GcpToAwsConfigInput } from '../../provisioner/topologies/gcp-to-aws/config.js';
import type { GcpToAwsOutputs } from '../../provisioner/topologies/gcp-to-aws/outputs.js';
import { NONE, ONE_OF_EACH, taggedCounts } from './counts.js';
import { CONSUMER_ACCOUNT, EKS_HOST, open, useWorld } from './world.js';

const world = useWorld();

function attrs(list: { Key?: string; Value?: string }[] | undefined): Record<string, string | undefined> {
  return Object.fromEntries((list ?? []).map((a) => [a.Key!, a.Value]));
}

describe('a fresh deployment', () => {
  const name = 'life';
  let outputs: GcpToAwsOutputs;

  test('plan on empty: every step plans create, nothing is created', async () => {
    const { deployment, sink, calls } = await open(world, name);
    const result = await deployment.plan();
    deployment.close();
    expect(result.steps.map((s) => s.step)).toEqual([
      'nlb',
      'endpoint-service',
      'vpc-endpoint',
      'accept-connection',
    ]);
    expect(result.steps.flatMap((s) => s.changes.map((c) => c.action))).not.toContain('none');
    expect(result.changed).toBe(8);
    expect(sink.withCode(MSG.STEP_PLANNED)).toHaveLength(4);
    const summary = sink.withCode(MSG.PLAN_SUMMARY)[0]!;
    expect(summary.data).toMatchObject({ create: 7, update: 1, delete: 0 });
    // plan only reads
    expect(calls.filter((c) => !/^(Describe|Get)/.test(c.operation))).toEqual([]);
    expect(await taggedCounts(world, name)).toEqual(NONE);
  });

  test('apply creates the path and prints the outputs', async () => {
    const { deployment, sink } = await open(world, name);
    const result = await deployment.apply();
    deployment.close();
    outputs = result.outputs as unknown as GcpToAwsOutputs;
    expect(await taggedCounts(world, name)).toEqual(ONE_OF_EACH);
    expect(sink.withCode(MSG.STEP_DONE).map((m) => m.step)).toEqual([
      'nlb',
      'endpoint-service',
      'vpc-endpoint',
      'accept-connection',
    ]);
    for (const m of sink.withCode(MSG.STEP_DONE)) expect(typeof m.data?.elapsedMs).toBe('number');
    expect(sink.withCode(MSG.OUTPUTS)).toHaveLength(1);

    expect(outputs.endpointServiceName).toMatch(/^com\.amazonaws\.vpce\.us-east-1\.vpce-svc-/);
    expect(outputs.vpcEndpointId).toMatch(/^vpce-/);
    expect(outputs.targetGroupArn).toMatch(/:targetgroup\/ekl-life\//);
    const kube = parse(outputs.kubeconfig!) as {
      clusters: { name: string; cluster: Record<string, string> }[];
    };
    expect(kube.clusters[0]!.cluster).toEqual({
      server: `https://${outputs.vpcEndpointDnsNames[0]}`,
      'tls-server-name': EKS_HOST,
    });

    // What AWS now holds matches issue 4's step list.
    const { elbv2, ec2 } = world.aws.provider;
    const lb = (
      await elbv2.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [outputs.loadBalancerArn!] }))
    ).LoadBalancers![0]!;
    expect(lb).toMatchObject({ Scheme: 'internal', Type: 'network', State: { Code: 'active' } });
    // The NLB has its own group from creation, PrivateLink traffic is not held to inbound rules,
    // and the group admits nothing from the VPC; it may only reach the targets' two ports.
    expect(outputs.loadBalancerSecurityGroupId).toMatch(/^sg-/);
    expect(lb.SecurityGroups).toEqual([outputs.loadBalancerSecurityGroupId]);
    expect(lb.EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic).toBe('off');
    const nlbSg = (
      await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [outputs.loadBalancerSecurityGroupId!] }))
    ).SecurityGroups![0]!;
    expect(nlbSg.VpcId).toBe(world.provider.vpcId);
    expect(nlbSg.IpPermissions).toEqual([]);
    expect(
      nlbSg
        .IpPermissionsEgress!.map(
          (p) => `${p.IpProtocol}:${p.FromPort}>${p.IpRanges!.map((r) => r.CidrIp).join()}`,
        )
        .sort(),
    ).toEqual(['tcp:443>10.10.0.0/16', 'tcp:8080>10.10.0.0/16']);
    expect(outputs).toMatchObject({
      providerVpcId: world.provider.vpcId,
      providerVpcCidr: '10.10.0.0/16',
      dnsResolverIp: '10.10.0.2',
      upstreamCidrs: ['10.10.0.0/16'],
      eksHostnames: [EKS_HOST],
      targetGroup: {
        proxyProtocolV2: true,
        deregistrationDelaySec: 345,
        connectionTermination: false,
        healthCheckPort: 8080,
        healthCheckIntervalSec: 5,
        unhealthyThresholdCount: 2,
      },
    });
    expect(lb.AvailabilityZones!.map((z) => z.SubnetId).sort()).toEqual([...world.provider.subnetIds].sort());
    const lbAttrs = attrs(
      (await elbv2.send(new DescribeLoadBalancerAttributesCommand({ LoadBalancerArn: lb.LoadBalancerArn })))
        .Attributes,
    );
    expect(lbAttrs['load_balancing.cross_zone.enabled']).toBe('true');
    const tg = (
      await elbv2.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [outputs.targetGroupArn!] }))
    ).TargetGroups![0]!;
    expect(tg).toMatchObject({
      Protocol: 'TCP',
      Port: 443,
      TargetType: 'instance',
      HealthCheckProtocol: 'HTTP',
      HealthCheckPort: '8080',
      HealthCheckPath: '/readyz',
      HealthCheckIntervalSeconds: 5,
      HealthCheckTimeoutSeconds: 4,
      HealthyThresholdCount: 2,
      UnhealthyThresholdCount: 2,
    });
    const tgAttrs = attrs(
      (await elbv2.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: tg.TargetGroupArn })))
        .Attributes,
    );
    expect(tgAttrs).toMatchObject({
      'proxy_protocol_v2.enabled': 'true',
      'deregistration_delay.timeout_seconds': '345',
      'deregistration_delay.connection_termination.enabled': 'false',
    });
    const listener = (await elbv2.send(new DescribeListenersCommand({ LoadBalancerArn: lb.LoadBalancerArn })))
      .Listeners![0]!;
    expect(listener).toMatchObject({ Port: 443, Protocol: 'TCP' });
    expect(listener.DefaultActions![0]!.TargetGroupArn).toBe(tg.TargetGroupArn);
    const lAttrs = attrs(
      (await elbv2.send(new DescribeListenerAttributesCommand({ ListenerArn: listener.ListenerArn })))
        .Attributes,
    );
    expect(lAttrs['tcp.idle_timeout.seconds']).toBe('3600');
    const svc = (
      await ec2.send(
        new DescribeVpcEndpointServiceConfigurationsCommand({ ServiceIds: [outputs.endpointServiceId!] }),
      )
    ).ServiceConfigurations![0]!;
    expect(svc.AcceptanceRequired).toBe(true);
    expect(svc.NetworkLoadBalancerArns).toEqual([lb.LoadBalancerArn]);
    const principals = (
      await ec2.send(new DescribeVpcEndpointServicePermissionsCommand({ ServiceId: svc.ServiceId }))
    ).AllowedPrincipals;
    expect(principals!.map((p) => p.Principal)).toEqual([`arn:aws:iam::${CONSUMER_ACCOUNT}:root`]);

    const ep = (
      await world.aws.consumer.ec2.send(
        new DescribeVpcEndpointsCommand({ VpcEndpointIds: [outputs.vpcEndpointId!] }),
      )
    ).VpcEndpoints![0]!;
    expect(ep.State).toBe('available');
    expect(ep.ServiceName).toBe(outputs.endpointServiceName);
    const sg = (
      await world.aws.consumer.ec2.send(
        new DescribeSecurityGroupsCommand({ GroupIds: [outputs.vpcEndpointSecurityGroupId!] }),
      )
    ).SecurityGroups![0]!;
    expect(sg.IpPermissions).toEqual([
      expect.objectContaining({
        IpProtocol: 'tcp',
        FromPort: 443,
        ToPort: 443,
        IpRanges: [expect.objectContaining({ CidrIp: '10.8.0.10/32' })],
      }),
    ]);
    expect(sg.IpPermissionsEgress).toEqual([]);
    const conn = world.fake.connections().find((c) => c.vpcEndpointId === outputs.vpcEndpointId)!;
    expect(conn).toMatchObject({
      state: 'available',
      vpcEndpointOwner: CONSUMER_ACCOUNT,
      serviceId: outputs.endpointServiceId,
    });
  });

  test('a second apply changes nothing and says so', async () => {
    const { deployment, sink, calls } = await open(world, name);
    const result = await deployment.apply();
    deployment.close();
    expect(result.changed).toBe(0);
    expect(sink.withCode(MSG.STEP_UNCHANGED)).toHaveLength(4);
    expect(sink.withCode(MSG.STEP_DONE)).toHaveLength(0);
    expect(sink.withCode(MSG.APPLY_SUMMARY)[0]!.message).toBe('no changes');
    expect(calls.filter((c) => !/^(Describe|Get)/.test(c.operation))).toEqual([]);
    expect(result.outputs).toEqual(outputs);
    expect(await taggedCounts(world, name)).toEqual(ONE_OF_EACH);
  });

  test('drift (a target-group attribute, an NLB inbound rule, an extra allowed principal) shows in plan and apply corrects it', async () => {
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
    // Someone opens the NLB to the VPC: the bypass of the PrivateLink-only rule.
    await world.aws.provider.ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: outputs.loadBalancerSecurityGroupId!,
        IpPermissions: [
          { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '10.10.0.0/16' }] },
        ],
      }),
    );
    const first = await open(world, name);
    const plan = await first.deployment.plan();
    first.deployment.close();
    const updates = plan.steps.flatMap((s) =>
      s.changes.filter((c) => c.action === 'update').map((c) => ({ step: s.step, ...c })),
    );
    expect(updates).toEqual([
      expect.objectContaining({
        step: 'nlb',
        resource: `security group ${outputs.loadBalancerSecurityGroupId}`,
        reason: 'revoke 1 inbound rule(s): only PrivateLink may reach the NLB',
      }),
      expect.objectContaining({
        step: 'nlb',
        resource: 'target group ekl-life',
        reason: expect.stringContaining('deregistration_delay.timeout_seconds 10 -> 345'),
      }),
      expect.objectContaining({
        step: 'endpoint-service',
        reason: expect.stringContaining('remove principal arn:aws:iam::333333333333:root'),
      }),
    ]);
    const second = await open(world, name);
    expect((await second.deployment.apply()).changed).toBe(3);
    expect((await second.deployment.plan()).changed).toBe(0);
    second.deployment.close();
    const nlbSg = (
      await world.aws.provider.ec2.send(
        new DescribeSecurityGroupsCommand({ GroupIds: [outputs.loadBalancerSecurityGroupId!] }),
      )
    ).SecurityGroups![0]!;
    expect(nlbSg.IpPermissions).toEqual([]);
    const tgAttrs = attrs(
      (
        await world.aws.provider.elbv2.send(
          new DescribeTargetGroupAttributesCommand({ TargetGroupArn: outputs.targetGroupArn! }),
        )
      ).Attributes,
    );
    expect(tgAttrs['deregistration_delay.timeout_seconds']).toBe('345');
    const principals = (
      await world.aws.provider.ec2.send(
        new DescribeVpcEndpointServicePermissionsCommand({ ServiceId: outputs.endpointServiceId! }),
      )
    ).AllowedPrincipals;
    expect(principals!.map((p) => p.Principal)).toEqual([`arn:aws:iam::${CONSUMER_ACCOUNT}:root`]);
  });

  test('a config change (idle timeout, CIDRs) is planned as updates and applied', async () => {
    const patch = (c: GcpToAwsConfigInput) => {
      c.provider.nlb = { ...c.provider.nlb, idleTimeoutSec: 1800 };
      c.consumer.allowedCidrs = ['10.8.0.10/32', '10.8.0.11/32'];
    };
    const { deployment } = await open(world, name, { patch });
    const plan = await deployment.plan();
    expect(
      plan.steps.flatMap((s) => s.changes.filter((c) => c.action === 'update').map((c) => c.reason)),
    ).toEqual(['tcp.idle_timeout.seconds 3600 -> 1800', 'allow 10.8.0.11/32:443']);
    expect((await deployment.apply()).changed).toBe(2);
    expect((await deployment.plan()).changed).toBe(0);
    deployment.close();
  });
});

describe('an NLB without a security group (created by an older ekslink)', () => {
  test('is refused with the fix, since AWS cannot add a group to it', async () => {
    await world.aws.provider.elbv2.send(
      new CreateLoadBalancerCommand({
        Name: 'ekl-nosg',
        Type: 'network',
        Scheme: 'internal',
        Subnets: world.provider.subnetIds,
        Tags: deploymentTags('nosg', 'ekl-nosg'),
      }),
    );
    const { deployment } = await open(world, 'nosg');
    const err = await deployment.plan().catch((e: unknown) => e);
    deployment.close();
    // The step reports it (step, account), with the cause's own code.
    expect(err).toMatchObject({
      code: 'EKL_PROVISION_STEP_FAILED',
      site: { step: 'nlb', account: 'provider' },
    });
    expect((err as Error).cause).toMatchObject({ code: 'EKL_PROVISION_NLB_NO_SECURITY_GROUP' });
    expect((err as Error).message).toContain('AWS cannot add one to an NLB created without one');
    expect((err as Error).message).toContain(
      'Run `ekslink provision destroy` and then `ekslink provision apply`',
    );
  });
});

describe('destroy', () => {
  test('removes only this deployment, in reverse order; twice is fine', async () => {
    const a = await open(world, 'keep-a');
    const b = await open(world, 'gone-b');
    await a.deployment.apply();
    await b.deployment.apply();
    const result = await b.deployment.destroy();
    expect(result.steps.map((s) => s.step)).toEqual([
      'accept-connection',
      'vpc-endpoint',
      'endpoint-service',
      'nlb',
    ]);
    expect(result.changed).toBe(7); // endpoint, security group, service, listener, NLB, target group, NLB group
    expect(await taggedCounts(world, 'gone-b')).toEqual(NONE);
    expect(await taggedCounts(world, 'keep-a')).toEqual(ONE_OF_EACH);
    expect((await a.deployment.plan()).changed).toBe(0);

    const again = await b.deployment.destroy();
    expect(again.changed).toBe(0);
    expect(b.sink.withCode(MSG.DESTROY_SUMMARY).map((m) => m.data?.deleted)).toEqual([7, 0]);
    a.deployment.close();
    b.deployment.close();
  });
});

test('the iam-policy output covers every call apply and destroy make, per account', async () => {
  const { deployment, calls } = await open(world, 'iam');
  await deployment.plan();
  await deployment.apply();
  await deployment.destroy();
  deployment.close();
  for (const account of ['provider', 'consumer']) {
    const made = new Set(
      calls.filter((c) => c.account === account).map((c) => `${c.service}:${c.operation}`),
    );
    const allowed = allowedActions(gcpToAws.iamPolicy(account));
    expect(
      [...made].filter((a) => !allowed.has(a)),
      `${account} calls missing from the policy`,
    ).toEqual([]);
    expect(made.size).toBeGreaterThan(3);
  }
  // Every statement that mutates carries a managed-by tag condition (on its tagged resources).
  for (const account of ['provider', 'consumer']) {
    for (const s of gcpToAws.iamPolicy(account).Statement) {
      const mutates = s.Action.some((a) => /:(Create|Modify|Delete|Set|Authorize|Revoke|Accept|Add)/.test(a));
      const untaggedSide = s.Resource.some((r) => /:(vpc|subnet)\/\*$/.test(r));
      if (mutates && !untaggedSide)
        expect(JSON.stringify(s.Condition), s.Sid).toMatch(
          /aws:(Request|Resource)Tag\/chalk\.ai\/managed-by/,
        );
    }
  }
});
