/**
 * peered with IAM enforced: the requester and accepter roles hold exactly what `iam-policy`
 * prints (with `--config`, and without it), the operator's identity may only assume them,
 * and every EC2, STS and Route 53 request goes through the IAM front (fake-iam.md) in front
 * of moto and the Route 53 fake. A deployment with the customer's private hosted zone is
 * planned, applied, repaired after its peering was deleted out of band, and destroyed; no
 * request is denied, and every printed statement allowed some call.
 */
import {
  CreateRouteCommand,
  CreateSubnetCommand,
  CreateTransitGatewayCommand,
  CreateTransitGatewayVpcAttachmentCommand,
  DeleteVpcPeeringConnectionCommand,
  DescribeVpcPeeringConnectionsCommand,
} from '@aws-sdk/client-ec2';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { ManualClock } from '../../provisioner/engine/clock.js';
import { MemorySink } from '../../provisioner/engine/output.js';
import type { PolicyDocument } from '../../provisioner/iam/policy.js';
import { peeredConfigSchema, type PeeredConfigInput } from '../../provisioner/topologies/peered/config.js';
import { peered } from '../../provisioner/topologies/peered/index.js';
import { startIamFront, type IamFront, type LoggedCall } from './fake-iam.js';
import { notAllowed, unusedGrants } from './iam-coverage.js';
import { ACCEPTER, REQUESTER, usePeeredWorld } from './peered-world.js';

const ctx = usePeeredWorld(['10.2.1.10']);
const ROLE = {
  requester: `arn:aws:iam::${REQUESTER}:role/ekslink-provisioner`,
  accepter: `arn:aws:iam::${ACCEPTER}:role/ekslink-provisioner`,
} as const;

let front: IamFront;
beforeEach(async () => {
  front = await startIamFront({ motoUrl: ctx.moto.url, upstreams: { route53: ctx.fake.url } });
  const operator = await front.principalOf('AKIAEKSLINKTEST');
  front.setPolicies(operator.principal, [
    {
      Statement: [
        {
          Sid: 'AssumeTheProvisionerRoles',
          Effect: 'Allow',
          Action: 'sts:AssumeRole',
          Resource: [ROLE.requester, ROLE.accepter],
        },
      ],
    },
  ]);
});
afterEach(async () => {
  await front.stop();
});

/** The config of this test's world with every endpoint the front; the zone mode unless `extra` says otherwise. */
function config(extra: Partial<PeeredConfigInput> = {}) {
  const input = ctx.config({ dns: { privateHostedZoneId: ctx.world.zoneId }, ...extra });
  for (const side of [input.requester, input.accepter]) {
    side.endpoints = { ec2: front.url, sts: front.url, elbv2: front.url, route53: front.url };
  }
  return peeredConfigSchema.parse(input);
}

async function open(extra: Partial<PeeredConfigInput> = {}) {
  const deployment = await peered.open(config(extra), {
    sink: new MemorySink(),
    clock: new ManualClock(Date.now()),
    pollIntervalMs: 10,
  });
  return ctx.track(deployment);
}

/** The peering of the deployment, deleted by someone else: the next apply peers again and repoints the routes. */
async function deletePeeringOutOfBand(): Promise<void> {
  const ec2 = ctx.world.ec2(REQUESTER);
  const out = await ec2.send(new DescribeVpcPeeringConnectionsCommand({}));
  const live = (out.VpcPeeringConnections ?? []).filter((p) => p.Status?.Code === 'active');
  expect(live).toHaveLength(1);
  await ec2.send(
    new DeleteVpcPeeringConnectionCommand({ VpcPeeringConnectionId: live[0]!.VpcPeeringConnectionId! }),
  );
}

async function lifecycle(): Promise<LoggedCall[]> {
  expect((await (await open()).plan()).changed).toBeGreaterThan(0);
  expect((await (await open()).apply()).changed).toBeGreaterThan(0);
  expect((await (await open()).apply()).changed).toBe(0);
  await deletePeeringOutOfBand();
  expect((await (await open()).apply()).changed).toBeGreaterThan(0);
  expect((await (await open()).plan()).changed).toBe(0);
  await (await open()).destroy();
  return front.log;
}

/**
 * A Transit Gateway path (made outside the front): the gateway and the requester VPC's
 * attachment in the requester account, and the requester's route to it. The accepter's
 * route cannot be made here: moto keeps no route to a gateway of another account and
 * region, so a Transit Gateway apply stops at routes-accepter, naming the missing route.
 */
async function transitGateway(): Promise<{ transitGatewayId: string; requesterAttachmentId: string }> {
  const ec2 = ctx.world.ec2(REQUESTER);
  const transitGatewayId = (await ec2.send(new CreateTransitGatewayCommand({}))).TransitGateway!
    .TransitGatewayId!;
  const subnet = (
    await ec2.send(new CreateSubnetCommand({ VpcId: ctx.world.requesterVpc, CidrBlock: '10.1.1.0/24' }))
  ).Subnet!.SubnetId!;
  const requesterAttachmentId = (
    await ec2.send(
      new CreateTransitGatewayVpcAttachmentCommand({
        TransitGatewayId: transitGatewayId,
        VpcId: ctx.world.requesterVpc,
        SubnetIds: [subnet],
      }),
    )
  ).TransitGatewayVpcAttachment!.TransitGatewayAttachmentId!;
  await ec2.send(
    new CreateRouteCommand({
      RouteTableId: ctx.world.requesterRtb,
      DestinationCidrBlock: '10.2.0.0/16',
      TransitGatewayId: transitGatewayId,
    }),
  );
  return { transitGatewayId, requesterAttachmentId };
}

/** Transit Gateway mode: apply checks both attachments and the requester's route, then names the accepter's missing route. */
async function tgwAttempt(tgw: PeeredConfigInput['transitGateway']): Promise<void> {
  await expect((await open({ transitGateway: tgw })).apply()).rejects.toMatchObject({
    site: { step: 'routes-accepter' },
    cause: { code: 'EKL_PEERED_TGW_ROUTE_MISSING' },
  });
}

function usePolicies(form: 'config' | 'none', extra: Partial<PeeredConfigInput> = {}) {
  const policies = {} as Record<'requester' | 'accepter', PolicyDocument>;
  for (const account of ['requester', 'accepter'] as const) {
    policies[account] = peered.iamPolicy(account, 'aws', form === 'config' ? config(extra) : undefined);
    front.setPolicies(ROLE[account], [policies[account]]);
  }
  return policies;
}

function expectEnforcedAndUsed(
  policies: Record<'requester' | 'accepter', PolicyDocument>,
  log: readonly LoggedCall[],
) {
  expect(front.failures).toEqual([]);
  expect(notAllowed(log)).toEqual([]);
  for (const account of ['requester', 'accepter'] as const) {
    expect(log.filter((c) => c.principal === ROLE[account]).length, account).toBeGreaterThan(3);
    expect(
      unusedGrants(policies[account], ROLE[account], log),
      `${account}: statements no call used`,
    ).toEqual([]);
  }
}

describe('peered under the printed policies', () => {
  test('with --config (VPC peering, the zone): plan, apply, repair, destroy; none denied, every statement used', async () => {
    const policies = usePolicies('config');
    expectEnforcedAndUsed(policies, await lifecycle());
  }, 60_000);

  test('with --config (Transit Gateway): no peering or route writes are printed; the checks are allowed', async () => {
    const tgw = await transitGateway();
    const policies = usePolicies('config', { transitGateway: tgw });
    const actions = JSON.stringify(policies);
    for (const write of [
      'CreateVpcPeeringConnection',
      'AcceptVpcPeeringConnection',
      'DeleteVpcPeeringConnection',
      'CreateRoute',
      'ReplaceRoute',
      'DeleteRoute',
    ])
      expect(actions, write).not.toContain(`ec2:${write}"`);
    expect(policies.accepter.Statement.flatMap((st) => st.Action)).not.toContain(
      'ec2:DescribeTransitGatewayAttachments',
    );
    await tgwAttempt(tgw);
    expect(front.failures).toEqual([]);
    expect(notAllowed(front.log)).toEqual([]);
  }, 60_000);

  test('without --config: both modes, and the accepter attachment read; none denied, every statement used', async () => {
    const policies = usePolicies('none');
    await lifecycle();
    const tgw = await transitGateway();
    await tgwAttempt(tgw);
    // With the data-plane attachment configured, it is read too (one that is not there: the accept step says so).
    const accepterAttachmentId = 'tgw-attach-0123456789abcdef0';
    await expect(
      (await open({ transitGateway: { ...tgw, accepterAttachmentId } })).apply(),
    ).rejects.toMatchObject({
      site: { step: 'peering-accept' },
      cause: { code: 'EKL_PEERED_TGW_ATTACHMENT' },
    });
    expectEnforcedAndUsed(policies, front.log);
  }, 60_000);
});
