import {
  CreateRouteCommand,
  CreateSubnetCommand,
  CreateTransitGatewayCommand,
  CreateTransitGatewayVpcAttachmentCommand,
  DescribeVpcPeeringConnectionsCommand,
} from '@aws-sdk/client-ec2';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../provisioner/engine/clock.js';
import { MemorySink } from '../../provisioner/engine/output.js';
import { peeredConfigSchema } from '../../provisioner/topologies/peered/config.js';
import { peered } from '../../provisioner/topologies/peered/index.js';
import type { Deployment } from '../../provisioner/topologies/topology.js';
import { TestDnsServer } from '../../testbed/dns-server.js';
import { startMoto, type MotoServer } from './moto.js';
import { Route53Fake } from './peered-route53-fake.js';
import {
  ACCEPTER,
  buildWorld,
  EKS_HOSTNAME,
  peeredConfig,
  REQUESTER,
  type PeeredWorld,
} from './peered-world.js';

let moto: MotoServer;
let fake: Route53Fake;
let dns: TestDnsServer;
let world: PeeredWorld;
let tgw: string;
let attachment: string;
const opened: Deployment[] = [];
const savedEnv = { ...process.env };

beforeAll(async () => {
  process.env.AWS_ACCESS_KEY_ID = 'AKIAEKSLINKTEST';
  process.env.AWS_SECRET_ACCESS_KEY = 'test';
  delete process.env.AWS_PROFILE;
  moto = await startMoto();
  dns = await TestDnsServer.start();
  dns.set(EKS_HOSTNAME, { a: ['10.2.1.10'] });
});
afterAll(async () => {
  await moto?.stop();
  await dns?.close();
  process.env = savedEnv;
});
beforeEach(async () => {
  await moto.reset();
  fake = await Route53Fake.start({ motoUrl: moto.url, accounts: [REQUESTER, ACCEPTER] });
  world = await buildWorld(moto.url, fake.url);
  const ec2 = world.ec2(REQUESTER);
  tgw = (await ec2.send(new CreateTransitGatewayCommand({}))).TransitGateway!.TransitGatewayId!;
  const subnet = (
    await ec2.send(new CreateSubnetCommand({ VpcId: world.requesterVpc, CidrBlock: '10.1.1.0/24' }))
  ).Subnet!.SubnetId!;
  attachment = (
    await ec2.send(
      new CreateTransitGatewayVpcAttachmentCommand({
        TransitGatewayId: tgw,
        VpcId: world.requesterVpc,
        SubnetIds: [subnet],
      }),
    )
  ).TransitGatewayVpcAttachment!.TransitGatewayAttachmentId!;
});
afterEach(async () => {
  opened.splice(0).forEach((d) => d.close());
  world.close();
  await fake.close();
});

async function open(transitGateway: {
  transitGatewayId: string;
  requesterAttachmentId: string;
}): Promise<Deployment> {
  const input = peeredConfig(world, { moto: moto.url, route53: fake.url }, dns.server, { transitGateway });
  const d = await peered.open(peeredConfigSchema.parse(input), {
    sink: new MemorySink(),
    clock: new ManualClock(0),
    pollIntervalMs: 10,
  });
  opened.push(d);
  return d;
}

describe('peered topology, Transit Gateway mode (checked, never changed)', () => {
  it('checks the attachment and the routes; names the missing route with the command to add it; creates no peering', async () => {
    await world.ec2(REQUESTER).send(
      new CreateRouteCommand({
        RouteTableId: world.requesterRtb,
        DestinationCidrBlock: '10.2.0.0/16',
        TransitGatewayId: tgw,
      }),
    );
    const err = await (
      await open({ transitGatewayId: tgw, requesterAttachmentId: attachment })
    )
      .apply()
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ site: { step: 'routes-accepter' } });
    expect((err as { cause: { code: string } }).cause.code).toBe('EKL_PEERED_TGW_ROUTE_MISSING');
    expect((err as Error).message).toContain(
      `aws ec2 create-route --route-table-id ${world.accepterRtb} --destination-cidr-block 10.1.0.0/16 --transit-gateway-id ${tgw}`,
    );
    const plan = await (
      await open({ transitGatewayId: tgw, requesterAttachmentId: attachment })
    )
      .plan()
      .catch((e: unknown) => e);
    expect(plan).toBeInstanceOf(Error);
    const pcx = await world.ec2(REQUESTER).send(new DescribeVpcPeeringConnectionsCommand({}));
    expect(pcx.VpcPeeringConnections ?? []).toEqual([]);
  });

  it('refuses an attachment that joins another gateway', async () => {
    const other = (await world.ec2(REQUESTER).send(new CreateTransitGatewayCommand({}))).TransitGateway!
      .TransitGatewayId!;
    const err = await (
      await open({ transitGatewayId: other, requesterAttachmentId: attachment })
    )
      .plan()
      .catch((e: unknown) => e);
    expect((err as { cause: { code: string } }).cause.code).toBe('EKL_PEERED_TGW_ATTACHMENT');
    expect((err as Error).message).toContain(`attaches ${tgw}, not ${other}`);
  });
});
