import {
  CreateRouteCommand,
  CreateSubnetCommand,
  CreateTransitGatewayCommand,
  CreateTransitGatewayVpcAttachmentCommand,
  DescribeVpcPeeringConnectionsCommand,
} from '@aws-sdk/client-ec2';
import { beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../provisioner/engine/clock.js';
import { MemorySink } from '../../provisioner/engine/output.js';
import { peeredConfigSchema } from '../../provisioner/topologies/peered/config.js';
import { peered } from '../../provisioner/topologies/peered/index.js';
import type { Deployment } from '../../provisioner/topologies/topology.js';
import { REQUESTER, usePeeredWorld } from './peered-world.js';

const ctx = usePeeredWorld(['10.2.1.10']);
let tgw: string;
let attachment: string;

beforeEach(async () => {
  const ec2 = ctx.world.ec2(REQUESTER);
  tgw = (await ec2.send(new CreateTransitGatewayCommand({}))).TransitGateway!.TransitGatewayId!;
  const subnet = (
    await ec2.send(new CreateSubnetCommand({ VpcId: ctx.world.requesterVpc, CidrBlock: '10.1.1.0/24' }))
  ).Subnet!.SubnetId!;
  attachment = (
    await ec2.send(
      new CreateTransitGatewayVpcAttachmentCommand({
        TransitGatewayId: tgw,
        VpcId: ctx.world.requesterVpc,
        SubnetIds: [subnet],
      }),
    )
  ).TransitGatewayVpcAttachment!.TransitGatewayAttachmentId!;
});

async function open(transitGateway: {
  transitGatewayId: string;
  requesterAttachmentId: string;
}): Promise<Deployment> {
  const input = ctx.config({ transitGateway });
  const d = await peered.open(peeredConfigSchema.parse(input), {
    sink: new MemorySink(),
    clock: new ManualClock(0),
    pollIntervalMs: 10,
  });
  ctx.track(d);
  return d;
}

describe('peered topology, Transit Gateway mode (checked, never changed)', () => {
  it('checks the attachment and the routes; names the missing route with the command to add it; creates no peering', async () => {
    await ctx.world.ec2(REQUESTER).send(
      new CreateRouteCommand({
        RouteTableId: ctx.world.requesterRtb,
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
      `aws ec2 create-route --route-table-id ${ctx.world.accepterRtb} --destination-cidr-block 10.1.0.0/16 --transit-gateway-id ${tgw}`,
    );
    const plan = await (
      await open({ transitGatewayId: tgw, requesterAttachmentId: attachment })
    )
      .plan()
      .catch((e: unknown) => e);
    expect(plan).toBeInstanceOf(Error);
    const pcx = await ctx.world.ec2(REQUESTER).send(new DescribeVpcPeeringConnectionsCommand({}));
    expect(pcx.VpcPeeringConnections ?? []).toEqual([]);
  });

  it('refuses an attachment that joins another gateway', async () => {
    const other = (await ctx.world.ec2(REQUESTER).send(new CreateTransitGatewayCommand({}))).TransitGateway!
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
