import {
  CreateRouteCommand,
  CreateInternetGatewayCommand,
  AttachInternetGatewayCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupRulesCommand,
  DescribeVpcPeeringConnectionsCommand,
} from '@aws-sdk/client-ec2';
import { GetHostedZoneCommand } from '@aws-sdk/client-route-53';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { ObservedCall } from '../../provisioner/aws/account.js';
import { ManualClock } from '../../provisioner/engine/clock.js';
import { MSG } from '../../provisioner/engine/messages.js';
import { MemorySink } from '../../provisioner/engine/output.js';
import { allowedActions } from '../../provisioner/iam/policy.js';
import { peeredConfigSchema, type PeeredConfigInput } from '../../provisioner/topologies/peered/config.js';
import { peered } from '../../provisioner/topologies/peered/index.js';
import type { Deployment } from '../../provisioner/topologies/topology.js';
import { ACCEPTER, EKS_HOSTNAME, REQUESTER, usePeeredWorld } from './peered-world.js';

const ctx = usePeeredWorld(['10.2.1.10', '10.2.2.11']);

interface Opened {
  deployment: Deployment;
  sink: MemorySink;
  calls: ObservedCall[];
}

async function open(
  extra: Partial<PeeredConfigInput> = {},
  fault?: (call: ObservedCall) => void,
): Promise<Opened> {
  const sink = new MemorySink();
  const calls: ObservedCall[] = [];
  const config = peeredConfigSchema.parse(ctx.config(extra));
  const deployment = await peered.open(config, {
    sink,
    clock: new ManualClock(Date.now()),
    pollIntervalMs: 10,
    observer: (call) => {
      calls.push(call);
      fault?.(call);
    },
  });
  ctx.track(deployment);
  return { deployment, sink, calls };
}

async function peerings(account: string) {
  const out = await ctx.world.ec2(account).send(new DescribeVpcPeeringConnectionsCommand({}));
  return (out.VpcPeeringConnections ?? []).filter(
    (p) => !['deleted', 'rejected', 'failed'].includes(p.Status?.Code ?? ''),
  );
}

async function routesTo(account: string, rtb: string, cidr: string) {
  const out = await ctx.world.ec2(account).send(new DescribeRouteTablesCommand({ RouteTableIds: [rtb] }));
  return (out.RouteTables?.[0]?.Routes ?? []).filter((r) => r.DestinationCidrBlock === cidr);
}

async function sgRules() {
  const out = await ctx.world.ec2(ACCEPTER).send(
    new DescribeSecurityGroupRulesCommand({
      Filters: [{ Name: 'group-id', Values: [ctx.world.clusterSg] }],
    }),
  );
  return (out.SecurityGroupRules ?? []).filter((r) => !r.IsEgress);
}

function expectCovered(calls: readonly ObservedCall[]): void {
  for (const account of ['requester', 'accepter']) {
    const allowed = allowedActions(peered.iamPolicy(account));
    const used = new Set(
      calls.filter((c) => c.account === account).map((c) => `${c.service}:${c.operation}`),
    );
    expect(
      [...used].filter((a) => !allowed.has(a)),
      `${account} calls outside its iam-policy`,
    ).toEqual([]);
  }
}

describe('peered topology against moto (VPC peering, routes, SG, DNS check)', () => {
  it('plan on an empty world lists what apply will create, and changes nothing', async () => {
    const { deployment } = await open();
    const plan = await deployment.plan();
    const creates = plan.steps.flatMap((s) =>
      s.changes.filter((c) => c.action === 'create').map((c) => `${s.step}: ${c.resource}`),
    );
    expect(creates).toEqual([
      'peering-request: VPC peering ekslink-acme-peered',
      'peering-accept: VPC peering acceptance',
      'routes-requester: route 10.2.0.0/16 in ' + ctx.world.requesterRtb,
      'routes-accepter: route 10.1.0.0/16 in ' + ctx.world.accepterRtb,
      'eks-security-group: ingress TCP 443 from 10.1.0.0/16 on ' + ctx.world.clusterSg,
    ]);
    expect(await peerings(REQUESTER)).toEqual([]);
  });

  it('apply peers across accounts and regions, routes exactly the peer CIDRs, opens only TCP 443, checks DNS; a second apply changes nothing', async () => {
    const { deployment, sink, calls } = await open();
    const result = await deployment.apply();
    expect(result.changed).toBe(5);

    const [pcx] = await peerings(REQUESTER);
    expect(pcx).toMatchObject({
      Status: { Code: 'active' },
      RequesterVpcInfo: { VpcId: ctx.world.requesterVpc, OwnerId: REQUESTER },
      AccepterVpcInfo: { VpcId: ctx.world.accepterVpc, OwnerId: ACCEPTER, Region: 'eu-west-1' },
    });
    expect(pcx!.Tags).toEqual(
      expect.arrayContaining([
        { Key: 'chalk.ai/managed-by', Value: 'chalk' },
        { Key: 'ekslink:deployment', Value: 'acme-peered' },
      ]),
    );
    const id = pcx!.VpcPeeringConnectionId;
    expect(await routesTo(REQUESTER, ctx.world.requesterRtb, '10.2.0.0/16')).toMatchObject([
      { VpcPeeringConnectionId: id },
    ]);
    expect(await routesTo(ACCEPTER, ctx.world.accepterRtb, '10.1.0.0/16')).toMatchObject([
      { VpcPeeringConnectionId: id },
    ]);
    const rules = await sgRules();
    expect(rules).toHaveLength(1);
    expect(rules[0]).toMatchObject({
      IpProtocol: 'tcp',
      FromPort: 443,
      ToPort: 443,
      CidrIpv4: '10.1.0.0/16',
    });

    const dnsStep = result.steps.find((s) => s.step === 'dns-check')!;
    expect(dnsStep.changes[0]!.reason).toContain('resolves to 10.2.1.10, 10.2.2.11, all inside 10.2.0.0/16');
    expect(ctx.dns.queryCount(EKS_HOSTNAME)).toBeGreaterThan(0);

    const outputs = result.outputs as {
      peeringConnectionId: string;
      kubeconfig: string | null;
      dns: { mode: string };
    };
    expect(outputs.peeringConnectionId).toBe(id);
    expect(outputs.dns.mode).toBe('check');
    expect(outputs.kubeconfig).toBeNull();
    expect(sink.withCode(MSG.OUTPUTS)).toHaveLength(1);

    const again = await (await open()).deployment.apply();
    expect(again.changed).toBe(0);
    expect(await peerings(REQUESTER)).toHaveLength(1);
    expectCovered(calls);
  });

  it('renders the kubeconfig with server = the EKS hostname when the CA is configured', async () => {
    const ca = Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n').toString(
      'base64',
    );
    const { deployment } = await open({
      eks: {
        hostname: EKS_HOSTNAME,
        clusterName: 'prod',
        clusterSecurityGroupId: ctx.world.clusterSg,
        certificateAuthorityData: ca,
      },
    });
    const { outputs } = await deployment.apply();
    const kc = parseYaml((outputs as { kubeconfig: string }).kubeconfig) as {
      clusters: { cluster: { server: string; 'tls-server-name': string } }[];
      users: { user: { exec: { args: string[] } } }[];
    };
    expect(kc.clusters[0]!.cluster.server).toBe(`https://${EKS_HOSTNAME}`);
    expect(kc.users[0]!.user.exec.args).toEqual([
      '--region',
      'eu-west-1',
      'eks',
      'get-token',
      '--cluster-name',
      'prod',
      '--output',
      'json',
    ]);
  });

  it('destroy removes routes, the SG rule and the peering, in reverse order; a second destroy deletes nothing', async () => {
    await (await open()).deployment.apply();
    const { deployment, calls } = await open();
    const destroyed = await deployment.destroy();
    expect(destroyed.steps.map((s) => s.step)).toEqual([
      'dns-authorization-cleanup',
      'dns-associate',
      'dns-authorize',
      'dns-check',
      'eks-security-group',
      'routes-accepter',
      'routes-requester',
      'peering-accept',
      'peering-request',
    ]);
    expect(destroyed.changed).toBe(4);
    expect(await peerings(REQUESTER)).toEqual([]);
    expect(await routesTo(REQUESTER, ctx.world.requesterRtb, '10.2.0.0/16')).toEqual([]);
    expect(await routesTo(ACCEPTER, ctx.world.accepterRtb, '10.1.0.0/16')).toEqual([]);
    expect(await sgRules()).toEqual([]);
    expect((await (await open()).deployment.destroy()).changed).toBe(0);
    expectCovered(calls);
  });

  it('resumes an apply cut off half way (fault on the accepter CreateRoute) without duplicating the peering', async () => {
    let armed = true;
    const { deployment } = await open({}, (call) => {
      if (armed && call.account === 'accepter' && call.operation === 'CreateRoute') {
        armed = false;
        throw new Error('injected: connection reset');
      }
    });
    await expect(deployment.apply()).rejects.toMatchObject({
      code: 'EKL_PROVISION_STEP_FAILED',
      site: { step: 'routes-accepter', account: 'accepter' },
    });
    expect(await routesTo(ACCEPTER, ctx.world.accepterRtb, '10.1.0.0/16')).toEqual([]);
    const resumed = await (await open()).deployment.apply();
    expect(
      resumed.steps.filter((s) => s.changes.some((c) => c.action !== 'none')).map((s) => s.step),
    ).toEqual(['routes-accepter', 'eks-security-group']);
    expect(await peerings(REQUESTER)).toHaveLength(1);
  });

  it('stops at dns-check when the EKS hostname answers a public address (public endpoint on)', async () => {
    ctx.dns.set(EKS_HOSTNAME, { a: ['10.2.1.10', '54.170.1.2'] });
    const { deployment } = await open();
    const err = await deployment.apply().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'EKL_PROVISION_STEP_FAILED', site: { step: 'dns-check' } });
    expect((err as Error).message).toContain('54.170.1.2 outside accepter.cidr 10.2.0.0/16');
    expect((err as { cause: { code: string } }).cause.code).toBe('EKL_PEERED_DNS_OUTSIDE_VPC');
  });

  it('refuses to take over a route it did not create (another target for the same CIDR)', async () => {
    const ec2 = ctx.world.ec2(REQUESTER);
    const igw = (await ec2.send(new CreateInternetGatewayCommand({}))).InternetGateway!.InternetGatewayId!;
    await ec2.send(
      new AttachInternetGatewayCommand({ InternetGatewayId: igw, VpcId: ctx.world.requesterVpc }),
    );
    await ec2.send(
      new CreateRouteCommand({
        RouteTableId: ctx.world.requesterRtb,
        DestinationCidrBlock: '10.2.0.0/16',
        GatewayId: igw,
      }),
    );
    const err = await (await open()).deployment.plan().catch((e: unknown) => e);
    expect((err as { cause: { code: string } }).cause.code).toBe('EKL_PEERED_ROUTE_CONFLICT');
    expect((err as Error).message).toContain(`already goes to ${igw}`);
  });

  it('refuses a configured CIDR that is not inside its VPC', async () => {
    const base = ctx.config();
    const { deployment } = await open({ requester: { ...base.requester, cidr: '10.9.0.0/16' } });
    const err = await deployment.plan().catch((e: unknown) => e);
    expect((err as { code: string }).code).toBe('EKL_PROVISION_PREFLIGHT');
    expect((err as Error).message).toContain(
      `requester.cidr 10.9.0.0/16: is not inside ${ctx.world.requesterVpc} (its CIDR blocks: 10.1.0.0/16)`,
    );
  });
});

describe('peered topology: customer-owned private hosted zone across accounts', () => {
  it('authorizes in the zone account, associates from the metadata-plane account, deletes the authorization; destroy disassociates', async () => {
    const { deployment, calls } = await open({ dns: { privateHostedZoneId: ctx.world.zoneId } });
    const result = await deployment.apply();
    const byStep = Object.fromEntries(result.steps.map((s) => [s.step, s.changes.map((c) => c.action)]));
    expect(byStep).toMatchObject({
      'dns-check': [],
      'dns-authorize': ['create'],
      'dns-associate': ['create'],
      'dns-authorization-cleanup': ['delete'],
    });
    expect(ctx.fake.calls.map((c) => `${c.operation}@${c.account}:${c.outcome}`)).toEqual(
      expect.arrayContaining([
        `CreateVPCAssociationAuthorization@${ACCEPTER}:ok`,
        `AssociateVPCWithHostedZone@${REQUESTER}:ok`,
        `DeleteVPCAssociationAuthorization@${ACCEPTER}:ok`,
      ]),
    );
    expect(ctx.fake.authorizations(ctx.world.zoneId)).toEqual([]);
    const zone = await ctx.world.route53(ACCEPTER).send(new GetHostedZoneCommand({ Id: ctx.world.zoneId }));
    expect(zone.VPCs?.map((v) => v.VPCId).sort()).toEqual(
      [ctx.world.accepterVpc, ctx.world.requesterVpc].sort(),
    );
    expect((result.outputs as { dns: unknown }).dns).toEqual({
      mode: 'zone',
      privateHostedZoneId: ctx.world.zoneId,
      associated: true,
    });

    expect(
      (await (await open({ dns: { privateHostedZoneId: ctx.world.zoneId } })).deployment.apply()).changed,
    ).toBe(0);

    const destroy = await (
      await open({ dns: { privateHostedZoneId: ctx.world.zoneId } })
    ).deployment.destroy();
    expect(destroy.steps.find((s) => s.step === 'dns-associate')!.changes.map((c) => c.action)).toEqual([
      'delete',
    ]);
    const after = await ctx.world.route53(ACCEPTER).send(new GetHostedZoneCommand({ Id: ctx.world.zoneId }));
    expect(after.VPCs?.map((v) => v.VPCId)).toEqual([ctx.world.accepterVpc]);
    expectCovered(calls);
  });

  it('resumes when the association failed after the authorization: the open authorization is reused, then deleted', async () => {
    let armed = true;
    const { deployment } = await open({ dns: { privateHostedZoneId: ctx.world.zoneId } }, (call) => {
      if (armed && call.operation === 'AssociateVPCWithHostedZone') {
        armed = false;
        throw new Error('injected: timeout');
      }
    });
    await expect(deployment.apply()).rejects.toMatchObject({ site: { step: 'dns-associate' } });
    expect(ctx.fake.authorizations(ctx.world.zoneId)).toEqual([`us-east-1/${ctx.world.requesterVpc}`]);
    const resumed = await (await open({ dns: { privateHostedZoneId: ctx.world.zoneId } })).deployment.apply();
    const byStep = Object.fromEntries(resumed.steps.map((s) => [s.step, s.changes.map((c) => c.action)]));
    expect(byStep['dns-authorize']).toEqual(['none']);
    expect(byStep['dns-associate']).toEqual(['create']);
    expect(byStep['dns-authorization-cleanup']).toEqual(['delete']);
    expect(ctx.fake.authorizations(ctx.world.zoneId)).toEqual([]);
  });
});
