/** Step 1a (requester): request the peering connection, tagged, and delete stray ones; or check the TGW attachment. */
import { CreateVpcPeeringConnectionCommand, DeleteVpcPeeringConnectionCommand } from '@aws-sdk/client-ec2';
import { tagSpecifications } from '../../aws/tags.js';
import { change, type Change, type Step } from '../../engine/step.js';
import { peeredNames } from './config.js';
import type { PeeredContext } from './context.js';
import { PeeredError } from './errors.js';
import { peeredConfigOf, peeringCondition, peeringOnly, vpcArn } from './iam-scope.js';
import { ignoreGone, runOps, type Op } from '../shared/ops.js';
import { duplicateReason } from '../shared/duplicates.js';
import { waitUntilListed } from '../shared/visibility.js';
import { attachmentRead, EC2_DESCRIBE, peeringArns } from './peering-permissions.js';
import {
  choosePeering,
  describePeering,
  ENDED,
  FAILED,
  GONE,
  matchesConfig,
  peeringId,
  readAttachment,
  readVpcCidrs,
  statusOf,
  taggedPeerings,
  type RequestState,
} from './peering-read.js';
import { checkAttachment, checkSide } from './side-checks.js';

async function readRequest(ctx: PeeredContext): Promise<RequestState> {
  const conn = ctx.requester;
  const vpcCidrs = await readVpcCidrs(conn, ctx.config.requester.vpcId);
  const tgw = ctx.config.transitGateway;
  if (tgw) {
    ctx.facts.routeTarget = { kind: 'transit-gateway', id: tgw.transitGatewayId };
    return {
      vpcCidrs,
      attachment: await readAttachment(conn, tgw.requesterAttachmentId),
      live: [],
      knownIds: [],
    };
  }
  const all = await taggedPeerings(ctx);
  const live = all.filter((p) => !ENDED.has(statusOf(p)));
  return { vpcCidrs, live, knownIds: all.map((p) => p.VpcPeeringConnectionId!) };
}

function requestOps(ctx: PeeredContext, s: RequestState): Op[] {
  const conn = ctx.requester;
  const ops: Op[] = [{ change: checkSide(ctx, 'requester', s) }];
  if (ctx.config.transitGateway) {
    return [
      ...ops,
      ...checkAttachment(ctx, 'requester', ctx.config.transitGateway.requesterAttachmentId, s.attachment).map(
        (c) => ({ change: c }),
      ),
    ];
  }
  const choice = choosePeering(ctx, s.live);
  const current = choice.kept;
  for (const p of s.live.filter((x) => x !== current)) {
    const id = p.VpcPeeringConnectionId!;
    ops.push({
      change: change(
        'delete',
        `VPC peering ${id}`,
        matchesConfig(ctx, p)
          ? duplicateReason(choice, peeringId)
          : `tagged for this deployment but joins ${p.RequesterVpcInfo?.VpcId} -> ${p.AccepterVpcInfo?.VpcId}, not the configured VPCs`,
      ),
      run: () =>
        ignoreGone(GONE, () =>
          conn.call('DeleteVpcPeeringConnection', `VPC peering ${id}`, () =>
            conn.ec2.send(new DeleteVpcPeeringConnectionCommand({ VpcPeeringConnectionId: id })),
          ),
        ),
    });
  }
  if (current) {
    const status = statusOf(current);
    if (FAILED.has(status)) {
      throw new PeeredError(
        'EKL_PEERED_PEERING_FAILED',
        `VPC peering ${current.VpcPeeringConnectionId} is ${status}: ${current.Status?.Message ?? ''}`,
      );
    }
    ops.push({
      change: change(
        'none',
        `VPC peering ${current.VpcPeeringConnectionId}`,
        `${status}: ${describePeering(ctx)}`,
      ),
    });
    return ops;
  }
  const { requester, accepter, deployment } = ctx.config;
  ops.push({
    change: change(
      'create',
      `VPC peering ${peeredNames(deployment).peering}`,
      `request peering ${describePeering(ctx)}`,
    ),
    run: async () => {
      // No idempotency token for peering: after an unanswered try, look by tags before asking again.
      const found = async () => {
        const live = (await taggedPeerings(ctx)).filter((p) => !ENDED.has(statusOf(p)));
        return choosePeering(ctx, live).kept;
      };
      const p = await conn.call(
        'CreateVpcPeeringConnection',
        `VPC peering ${describePeering(ctx)}`,
        async () =>
          (
            await conn.ec2.send(
              new CreateVpcPeeringConnectionCommand({
                VpcId: requester.vpcId,
                PeerVpcId: accepter.vpcId,
                PeerOwnerId: accepter.accountId,
                PeerRegion: accepter.region,
                TagSpecifications: tagSpecifications(
                  'vpc-peering-connection',
                  deployment,
                  peeredNames(deployment).peering,
                ),
              }),
            )
          ).VpcPeeringConnection!,
        { recheck: found },
      );
      await waitUntilListed(
        ctx,
        { step: 'peering-request', account: 'requester' },
        `VPC peering ${p.VpcPeeringConnectionId}`,
        async () => (await found())?.VpcPeeringConnectionId !== undefined,
        ctx.config.timeouts.peeringActiveSec * 1000,
      );
      ctx.facts.peeringConnectionId = p.VpcPeeringConnectionId;
      ctx.facts.peeringStatus = statusOf(p);
      ctx.facts.routeTarget = { kind: 'peering', id: p.VpcPeeringConnectionId! };
    },
  });
  return ops;
}

/** Step 1a (requester): request the peering connection, tagged; or check the TGW attachment. */
export const peeringRequestStep: Step<PeeredContext, RequestState> = {
  id: 'peering-request',
  title: 'requester: VPC peering to the data-plane VPC (or check the TGW attachment)',
  account: 'requester',
  // With a config in Transit Gateway mode no peering is made: those grants are left out.
  permissions: [
    EC2_DESCRIBE,
    attachmentRead('requester'),
    {
      why: 'request the peering connection from the metadata plane VPC',
      actions: ['ec2:CreateVpcPeeringConnection'],
      resources: ['arn:aws:ec2:*:*:vpc/*'],
      tagCondition: 'none',
      scoped: (scope) => ({ resources: peeringOnly(scope, [vpcArn(peeredConfigOf(scope), 'requester')]) }),
    },
    {
      why: 'create the peering connection with the deployment tags',
      actions: ['ec2:CreateVpcPeeringConnection'],
      resources: ['arn:aws:ec2:*:*:vpc-peering-connection/*'],
      tagCondition: 'request',
      scoped: (scope) => ({
        resources: peeringOnly(scope, [peeringArns(scope)]),
        condition: peeringCondition(peeredConfigOf(scope)),
      }),
    },
    {
      why: 'tag the peering connection in its create call',
      actions: ['ec2:CreateTags'],
      resources: ['arn:aws:ec2:*:*:vpc-peering-connection/*'],
      tagCondition: 'request',
      condition: { StringEquals: { 'ec2:CreateAction': 'CreateVpcPeeringConnection' } },
      scoped: (scope) => ({ resources: peeringOnly(scope, [peeringArns(scope)]) }),
    },
    {
      why: 'delete the peering connection of this deployment',
      actions: ['ec2:DeleteVpcPeeringConnection'],
      resources: ['arn:aws:ec2:*:*:vpc-peering-connection/*'],
      tagCondition: 'resource',
      scoped: (scope) => ({
        resources: peeringOnly(scope, [peeringArns(scope)]),
        condition: peeringCondition(peeredConfigOf(scope)),
      }),
    },
  ],
  read: readRequest,
  plan: (ctx, s) => requestOps(ctx, s).map((o) => o.change),
  apply: (ctx, s) => runOps(ctx, 'peering-request', 'requester', requestOps(ctx, s)),
  async destroy(ctx, s) {
    const conn = ctx.requester;
    const deleted: Change[] = [];
    for (const p of s.live) {
      const id = p.VpcPeeringConnectionId!;
      await ignoreGone(GONE, () =>
        conn.call('DeleteVpcPeeringConnection', `VPC peering ${id}`, () =>
          conn.ec2.send(new DeleteVpcPeeringConnectionCommand({ VpcPeeringConnectionId: id })),
        ),
      );
      deleted.push(change('delete', `VPC peering ${id}`, 'tagged for this deployment'));
    }
    return deleted;
  },
};
