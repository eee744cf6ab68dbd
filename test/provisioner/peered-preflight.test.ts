/**
 * Preflight of the peered topology against moto and the Route 53 fake: missing VPCs, route
 * tables of another VPC or none at all, a missing cluster security group and a hosted zone
 * the accepter account does not own stop plan and apply with every problem listed, and
 * nothing is created.
 */
import { DescribeVpcPeeringConnectionsCommand } from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import type { ObservedCall } from '../../provisioner/aws/account.js';
import { ManualClock } from '../../provisioner/engine/clock.js';
import { MSG } from '../../provisioner/engine/messages.js';
import { MemorySink } from '../../provisioner/engine/output.js';
import { PreflightError } from '../../provisioner/engine/preflight.js';
import { peeredConfigSchema, type PeeredConfigInput } from '../../provisioner/topologies/peered/config.js';
import { peered } from '../../provisioner/topologies/peered/index.js';
import { ACCEPTER, REQUESTER, usePeeredWorld } from './peered-world.js';

const ctx = usePeeredWorld(['10.2.1.10']);

async function preflightOf(extra: (base: PeeredConfigInput) => Partial<PeeredConfigInput>) {
  const errors: PreflightError[] = [];
  for (const action of ['plan', 'apply'] as const) {
    const sink = new MemorySink();
    const calls: ObservedCall[] = [];
    const deployment = ctx.track(
      await peered.open(peeredConfigSchema.parse(ctx.config(extra(ctx.config()))), {
        sink,
        clock: new ManualClock(Date.now()),
        pollIntervalMs: 10,
        observer: (call) => void calls.push(call),
      }),
    );
    const err = await deployment[action]().catch((e: unknown) => e);
    expect(err, action).toBeInstanceOf(PreflightError);
    expect(calls.map((c) => c.operation).filter((o) => !/^(Describe|Get|List)/.test(o))).toEqual([]);
    expect(sink.withCode(MSG.STEP_PLANNED)).toEqual([]);
    errors.push(err as PreflightError);
  }
  for (const account of [REQUESTER, ACCEPTER]) {
    const out = await ctx.world.ec2(account).send(new DescribeVpcPeeringConnectionsCommand({}));
    expect(out.VpcPeeringConnections ?? []).toEqual([]);
  }
  return errors[0]!;
}

describe('peered preflight', () => {
  it('a missing requester VPC, a missing route table and a route table of another VPC: all at once', async () => {
    const w = ctx.world;
    const err = await preflightOf((base) => ({
      requester: { ...base.requester, vpcId: 'vpc-0000000000000dead' },
      accepter: { ...base.accepter, routeTableIds: [w.accepterRtb, 'rtb-0000000000000dead'] },
    }));
    expect(err.found.map((p) => `${p.key} ${p.value}: ${p.problem}`)).toEqual([
      `requester.vpcId vpc-0000000000000dead: does not exist in account ${REQUESTER} (us-east-1)`,
      `requester.routeTableIds[0] ${w.requesterRtb}: belongs to ${w.requesterVpc}, not to requester.vpcId vpc-0000000000000dead`,
      `accepter.routeTableIds[1] rtb-0000000000000dead: does not exist in account ${ACCEPTER} (eu-west-1)`,
    ]);
    expect(err.found[2]!.fix).toContain(
      `aws ec2 describe-route-tables --region eu-west-1 --filters Name=vpc-id,Values=${w.accepterVpc}`,
    );
  });

  it('a missing cluster security group, a CIDR outside its VPC and a hosted zone the accepter does not own', async () => {
    const err = await preflightOf((base) => ({
      eks: { ...base.eks, clusterSecurityGroupId: 'sg-0000000000000dead' },
      accepter: { ...base.accepter, cidr: '10.9.0.0/16' },
      dns: { privateHostedZoneId: 'Z0000000000000DEADBEEF' },
    }));
    expect(err.found.map((p) => [p.key, p.value])).toEqual([
      ['accepter.cidr', '10.9.0.0/16'],
      ['eks.clusterSecurityGroupId', 'sg-0000000000000dead'],
      ['dns.privateHostedZoneId', 'Z0000000000000DEADBEEF'],
    ]);
    expect(err.found[0]!.fix).toBe('set accepter.cidr to the VPC CIDR or a part of it, e.g. "10.2.0.0/16"');
    expect(err.found[2]!.problem).toContain(`does not exist in account ${ACCEPTER}`);
  });
});
