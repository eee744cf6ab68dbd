/** Step 1b (accepter): accept exactly the requested peering, wait until it is active. */
import { AcceptVpcPeeringConnectionCommand, type VpcPeeringConnection } from '@aws-sdk/client-ec2';
import { change, type Step } from '../../engine/step.js';
import { waitFor } from '../../engine/waiter.js';
import type { PeeredContext } from './context.js';
import { PeeredError } from './errors.js';
import { peeredConfigOf, peeringCondition, peeringOnly, vpcArn } from './iam-scope.js';
import { runOps, type Op } from '../shared/ops.js';
import { waitReporting } from '../shared/visibility.js';
import { attachmentRead, EC2_DESCRIBE } from './peering-permissions.js';
import {
  describeFromAccepter,
  describePeering,
  FAILED,
  loadPeeringFacts,
  matchesConfig,
  readAttachment,
  readVpcCidrs,
  statusOf,
  type SideState,
} from './peering-read.js';
import { checkAttachment, checkSide } from './side-checks.js';

export interface AcceptState extends SideState {
  readonly peering: VpcPeeringConnection | undefined;
}

async function readAccept(ctx: PeeredContext): Promise<AcceptState> {
  const conn = ctx.accepter;
  const vpcCidrs = await readVpcCidrs(conn, ctx.config.accepter.vpcId);
  const tgw = ctx.config.transitGateway;
  if (tgw)
    return { vpcCidrs, attachment: await readAttachment(conn, tgw.accepterAttachmentId), peering: undefined };
  await loadPeeringFacts(ctx);
  const id = ctx.facts.peeringConnectionId;
  if (id === undefined) return { vpcCidrs, peering: undefined };
  const peering = await describeFromAccepter(ctx, id);
  return { vpcCidrs, peering };
}

function acceptOps(ctx: PeeredContext, s: AcceptState): Op[] {
  const ops: Op[] = [{ change: checkSide(ctx, 'accepter', s) }];
  const tgw = ctx.config.transitGateway;
  if (tgw)
    return [
      ...ops,
      ...checkAttachment(ctx, 'accepter', tgw.accepterAttachmentId, s.attachment).map((c) => ({ change: c })),
    ];
  const id = ctx.facts.peeringConnectionId;
  if (id === undefined || s.peering === undefined) {
    ops.push({
      change: change(
        'create',
        'VPC peering acceptance',
        'accept the peering requested in step peering-request, then wait until active',
      ),
      run: () => accept(ctx),
    });
    return ops;
  }
  // Never accept a peering that does not join exactly the configured VPCs and accounts.
  if (!matchesConfig(ctx, s.peering)) {
    throw new PeeredError(
      'EKL_PEERED_PEERING_MISMATCH',
      `VPC peering ${id} joins ${s.peering.RequesterVpcInfo?.VpcId} (${s.peering.RequesterVpcInfo?.OwnerId}) -> ${s.peering.AccepterVpcInfo?.VpcId} (${s.peering.AccepterVpcInfo?.OwnerId}), not ${describePeering(ctx)}: not accepted`,
    );
  }
  const status = statusOf(s.peering);
  if (status === 'active') {
    ops.push({ change: change('none', `VPC peering ${id}`, 'active') });
  } else if (
    status === 'pending-acceptance' ||
    status === 'provisioning' ||
    status === 'initiating-request'
  ) {
    ops.push({
      change: change('update', `VPC peering ${id}`, `${status}: accept it, wait until active`),
      run: () => accept(ctx),
    });
  } else {
    throw new PeeredError(
      'EKL_PEERED_PEERING_FAILED',
      `VPC peering ${id} is ${status}: ${s.peering.Status?.Message ?? ''}`,
    );
  }
  return ops;
}

async function accept(ctx: PeeredContext): Promise<void> {
  const id = ctx.facts.peeringConnectionId;
  if (id === undefined)
    throw new PeeredError(
      'EKL_PEERED_PEERING_FAILED',
      'no peering connection to accept: step peering-request created none',
    );
  const conn = ctx.accepter;
  // Cross-region: the request takes a moment to show in the accepter's region.
  const pending = await waitFor(
    `VPC peering ${id} to reach the accepter`,
    async () => {
      const p = await describeFromAccepter(ctx, id);
      const status = statusOf(p);
      return p && status !== 'initiating-request' ? { done: true, value: p } : { done: false, state: status };
    },
    {
      clock: ctx.clock,
      timeoutMs: ctx.config.timeouts.peeringActiveSec * 1000,
      intervalMs: ctx.pollIntervalMs,
    },
  );
  if (!matchesConfig(ctx, pending)) {
    throw new PeeredError(
      'EKL_PEERED_PEERING_MISMATCH',
      `VPC peering ${id} does not join ${describePeering(ctx)}: not accepted`,
    );
  }
  if (statusOf(pending) === 'pending-acceptance') {
    await conn.call('AcceptVpcPeeringConnection', `VPC peering ${id}`, () =>
      conn.ec2.send(new AcceptVpcPeeringConnectionCommand({ VpcPeeringConnectionId: id })),
    );
  }
  await waitReporting(
    ctx,
    { step: 'peering-accept', account: 'accepter' },
    { awaited: `VPC peering ${id} to become active`, label: `VPC peering ${id}` },
    async () => {
      const status = statusOf(await describeFromAccepter(ctx, id));
      if (FAILED.has(status))
        throw new PeeredError('EKL_PEERED_PEERING_FAILED', `VPC peering ${id} went to ${status}`);
      return status === 'active' ? { done: true, value: status } : { done: false, state: status };
    },
    ctx.config.timeouts.peeringActiveSec * 1000,
  );
  ctx.facts.peeringStatus = 'active';
}

/** Step 1b (accepter): accept exactly the requested peering with the data-plane account's credentials; wait until active. */
export const peeringAcceptStep: Step<PeeredContext, AcceptState> = {
  id: 'peering-accept',
  title: 'accepter: accept the VPC peering, wait until active (or check the TGW attachment)',
  account: 'accepter',
  permissions: [
    EC2_DESCRIBE,
    attachmentRead('accepter'),
    {
      // The requester's tags are not visible in this account, so no tag condition: with
      // --config the peering must join exactly the configured VPCs.
      why: 'accept the peering connection into the data plane VPC',
      actions: ['ec2:AcceptVpcPeeringConnection'],
      resources: ['arn:aws:ec2:*:*:vpc-peering-connection/*'],
      tagCondition: 'none',
      scoped: (scope) => ({
        // The connection's ARN carries the requester's account; the conditions pin both VPCs.
        resources: peeringOnly(scope, [`arn:aws:ec2:${scope.region}:*:vpc-peering-connection/*`]),
        condition: peeringCondition(peeredConfigOf(scope)),
      }),
    },
    {
      why: 'accept the peering into the configured data plane VPC',
      actions: ['ec2:AcceptVpcPeeringConnection'],
      resources: ['arn:aws:ec2:*:*:vpc/*'],
      tagCondition: 'none',
      scoped: (scope) => ({ resources: peeringOnly(scope, [vpcArn(peeredConfigOf(scope), 'accepter')]) }),
    },
  ],
  read: readAccept,
  plan: (ctx, s) => acceptOps(ctx, s).map((o) => o.change),
  apply: (ctx, s) => runOps(ctx, 'peering-accept', 'accepter', acceptOps(ctx, s)),
  // The requester's step deletes the connection (either side may); nothing is owned here.
  destroy: async () => [],
};
