import {
  AcceptVpcPeeringConnectionCommand,
  CreateVpcPeeringConnectionCommand,
  DeleteVpcPeeringConnectionCommand,
  DescribeTransitGatewayAttachmentsCommand,
  DescribeVpcPeeringConnectionsCommand,
  DescribeVpcsCommand,
  type TransitGatewayAttachment,
  type VpcPeeringConnection,
} from '@aws-sdk/client-ec2';
import type { AccountConnection } from '../../aws/account.js';
import { deploymentFilters, tagSpecifications } from '../../aws/tags.js';
import { MSG } from '../../engine/messages.js';
import { emit } from '../../engine/output.js';
import { change, type Change, type Step } from '../../engine/step.js';
import { waitFor } from '../../engine/waiter.js';
import type { IamPermission, PolicyScope } from '../../iam/policy.js';
import { cidrWithin, peeredNames, type PeeredSide } from './config.js';
import type { PeeredContext } from './context.js';
import { PeeredError } from './errors.js';
import {
  attachmentReadResources,
  peeredConfigOf,
  peeringCondition,
  peeringOnly,
  vpcArn,
} from './iam-scope.js';
import { ignoreGone, runOps, type Op } from '../shared/ops.js';
import { chooseKeeper, duplicateReason, reportDuplicates } from '../shared/duplicates.js';
import { collectPages } from '../shared/pages.js';
import { waitUntilListed } from '../shared/visibility.js';

/** Peering states that are over: such a connection is history, not ours to manage. */
const ENDED = new Set(['deleted', 'deleting', 'rejected', 'failed', 'expired']);
const FAILED = new Set(['rejected', 'failed', 'expired']);
const GONE = ['InvalidVpcPeeringConnectionID.NotFound', 'InvalidVpcPeeringConnectionId.NotFound'];

export interface SideState {
  /** CIDR blocks of the side's VPC; undefined when the VPC was not found. */
  readonly vpcCidrs: readonly string[] | undefined;
  readonly attachment?: TransitGatewayAttachment | undefined;
}

export interface RequestState extends SideState {
  /** Live peering connections carrying this deployment's tags (normally zero or one). */
  readonly live: readonly VpcPeeringConnection[];
  /** Every tagged peering id, ended ones too: routes that still point at them are ours. */
  readonly knownIds: readonly string[];
}

export interface AcceptState extends SideState {
  readonly peering: VpcPeeringConnection | undefined;
}

function statusOf(p: VpcPeeringConnection | undefined): string {
  return p?.Status?.Code ?? 'unknown';
}

async function readVpcCidrs(conn: AccountConnection, vpcId: string): Promise<string[] | undefined> {
  try {
    const out = await conn.call('DescribeVpcs', `VPC ${vpcId}`, () =>
      conn.ec2.send(new DescribeVpcsCommand({ VpcIds: [vpcId] })),
    );
    const vpc = out.Vpcs?.[0];
    if (!vpc) return undefined;
    const blocks = (vpc.CidrBlockAssociationSet ?? [])
      .filter((b) => b.CidrBlockState?.State === undefined || b.CidrBlockState.State === 'associated')
      .map((b) => b.CidrBlock!)
      .filter(Boolean);
    return blocks.length > 0 ? blocks : vpc.CidrBlock ? [vpc.CidrBlock] : [];
  } catch (err) {
    if ((err as { awsCode?: string }).awsCode === 'InvalidVpcID.NotFound') return undefined;
    throw err;
  }
}

async function readAttachment(
  conn: AccountConnection,
  id: string | undefined,
): Promise<TransitGatewayAttachment | undefined> {
  if (id === undefined) return undefined;
  try {
    const out = await conn.call('DescribeTransitGatewayAttachments', `TGW attachment ${id}`, () =>
      conn.ec2.send(new DescribeTransitGatewayAttachmentsCommand({ TransitGatewayAttachmentIds: [id] })),
    );
    return out.TransitGatewayAttachments?.[0];
  } catch (err) {
    if ((err as { awsCode?: string }).awsCode?.startsWith('InvalidTransitGatewayAttachmentID'))
      return undefined;
    throw err;
  }
}

/** The configured CIDR must lie in the VPC: a typo here would route or allow the wrong range. */
function checkSide(ctx: PeeredContext, side: PeeredSide, s: SideState): Change {
  const cfg = ctx.config[side];
  if (s.vpcCidrs === undefined) {
    throw new PeeredError(
      'EKL_PEERED_CIDR_NOT_IN_VPC',
      `${side}.vpcId ${cfg.vpcId} not found in account ${cfg.accountId} (${cfg.region})`,
    );
  }
  if (!s.vpcCidrs.some((block) => cidrWithin(cfg.cidr, block))) {
    throw new PeeredError(
      'EKL_PEERED_CIDR_NOT_IN_VPC',
      `${side}.cidr ${cfg.cidr} is not inside ${cfg.vpcId} (CIDR blocks: ${s.vpcCidrs.join(', ') || 'none'}); e.g. cidr: "${s.vpcCidrs[0] ?? '10.0.0.0/16'}"`,
    );
  }
  return change('none', `${side} VPC ${cfg.vpcId}`, `${cfg.cidr} is inside ${s.vpcCidrs.join(', ')}`);
}

/** Transit Gateway mode: the attachment must exist, be available and join this VPC to the configured TGW. */
function checkAttachment(
  ctx: PeeredContext,
  side: PeeredSide,
  id: string | undefined,
  a: TransitGatewayAttachment | undefined,
): Change[] {
  const tgw = ctx.config.transitGateway!;
  if (id === undefined) return [];
  const vpcId = ctx.config[side].vpcId;
  const problem =
    a === undefined
      ? 'not found'
      : a.State !== 'available'
        ? `state is ${a.State}, not available`
        : a.TransitGatewayId !== tgw.transitGatewayId
          ? `attaches ${a.TransitGatewayId}, not ${tgw.transitGatewayId}`
          : a.ResourceType !== 'vpc' || a.ResourceId !== vpcId
            ? `attaches ${a.ResourceType} ${a.ResourceId}, not ${vpcId}`
            : undefined;
  if (problem !== undefined) {
    throw new PeeredError(
      'EKL_PEERED_TGW_ATTACHMENT',
      `${side} TGW attachment ${id}: ${problem}; ekslink only checks Transit Gateway attachments`,
    );
  }
  return [
    change(
      'none',
      `TGW attachment ${id}`,
      `available, joins ${vpcId} to ${tgw.transitGatewayId} (checked only)`,
    ),
  ];
}

function matchesConfig(ctx: PeeredContext, p: VpcPeeringConnection): boolean {
  const { requester, accepter } = ctx.config;
  return (
    p.RequesterVpcInfo?.VpcId === requester.vpcId &&
    p.RequesterVpcInfo?.OwnerId === requester.accountId &&
    p.AccepterVpcInfo?.VpcId === accepter.vpcId &&
    p.AccepterVpcInfo?.OwnerId === accepter.accountId &&
    (p.AccepterVpcInfo?.Region === undefined || p.AccepterVpcInfo.Region === accepter.region)
  );
}

const peeringId = (p: VpcPeeringConnection) => p.VpcPeeringConnectionId!;
const PEERING_USE: Record<string, number> = {
  active: 3,
  'pending-acceptance': 2,
  provisioning: 2,
  'initiating-request': 1,
};

/**
 * The live tagged peering that joins the configured VPCs; of several (a create retried
 * after its answer was lost) the active one, else the one furthest along, else the lowest
 * ID: AWS gives peerings no creation time.
 */
function choosePeering(ctx: PeeredContext, live: readonly VpcPeeringConnection[]) {
  return chooseKeeper(
    live.filter((p) => matchesConfig(ctx, p)),
    { id: peeringId, inUse: (p) => ({ score: PEERING_USE[statusOf(p)] ?? 0, as: statusOf(p) }) },
  );
}

function describePeering(ctx: PeeredContext): string {
  const { requester: r, accepter: a } = ctx.config;
  return `${r.vpcId} (${r.accountId} ${r.region}) -> ${a.vpcId} (${a.accountId} ${a.region})`;
}

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

/** Every peering connection carrying this deployment's tags (requester account: tags are per account). */
async function taggedPeerings(ctx: PeeredContext): Promise<VpcPeeringConnection[]> {
  const conn = ctx.requester;
  const all: VpcPeeringConnection[] = await collectPages(
    'peering connections',
    async (NextToken) => {
      const out = await conn.call(
        'DescribeVpcPeeringConnections',
        'peering connections of this deployment',
        () =>
          conn.ec2.send(
            new DescribeVpcPeeringConnectionsCommand({
              Filters: deploymentFilters(ctx.config.deployment),
              NextToken,
            }),
          ),
      );
      return { items: out.VpcPeeringConnections ?? [], next: out.NextToken };
    },
    20,
  );
  const choice = choosePeering(
    ctx,
    all.filter((p) => !ENDED.has(statusOf(p))),
  );
  reportDuplicates(
    ctx,
    { step: 'peering-request', account: 'requester', kind: 'VPC peering' },
    choice,
    peeringId,
  );
  const current = choice.kept;
  ctx.facts.peeringConnectionId = current?.VpcPeeringConnectionId;
  ctx.facts.peeringStatus = current === undefined ? undefined : statusOf(current);
  ctx.facts.routeTarget = current ? { kind: 'peering', id: current.VpcPeeringConnectionId! } : undefined;
  ctx.facts.knownPeeringIds = all.map((p) => p.VpcPeeringConnectionId!);
  return all;
}

/**
 * Make sure the peering facts are loaded. apply and plan read peering-request first; destroy
 * reads in reverse order, so the later steps (routes, accept) load them on their own.
 */
export async function loadPeeringFacts(ctx: PeeredContext): Promise<void> {
  if (ctx.config.transitGateway) {
    ctx.facts.routeTarget = { kind: 'transit-gateway', id: ctx.config.transitGateway.transitGatewayId };
    return;
  }
  if (ctx.facts.knownPeeringIds === undefined) await taggedPeerings(ctx);
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

const EC2_DESCRIBE: IamPermission = {
  why: 'read VPCs and peering connections',
  actions: ['ec2:DescribeVpcs', 'ec2:DescribeVpcPeeringConnections'],
  resources: ['*'],
  tagCondition: 'none',
};

/** Only a side whose TGW attachment is configured reads it. */
function attachmentRead(side: PeeredSide): IamPermission {
  return {
    why: 'read the TGW attachment',
    actions: ['ec2:DescribeTransitGatewayAttachments'],
    resources: ['*'],
    tagCondition: 'none',
    scoped: (scope) => ({ resources: attachmentReadResources(scope, side) }),
  };
}

/** The requester's peering connections, in its region and account. */
function peeringArns(scope: PolicyScope): string {
  return `arn:aws:ec2:${scope.region}:${scope.accountId}:vpc-peering-connection/*`;
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

async function describeFromAccepter(
  ctx: PeeredContext,
  id: string,
): Promise<VpcPeeringConnection | undefined> {
  const conn = ctx.accepter;
  try {
    const out = await conn.call('DescribeVpcPeeringConnections', `VPC peering ${id}`, () =>
      conn.ec2.send(new DescribeVpcPeeringConnectionsCommand({ VpcPeeringConnectionIds: [id] })),
    );
    return out.VpcPeeringConnections?.[0];
  } catch (err) {
    if (GONE.includes((err as { awsCode?: string }).awsCode ?? '')) return undefined;
    throw err;
  }
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
  await waitFor(
    `VPC peering ${id} to become active`,
    async () => {
      const status = statusOf(await describeFromAccepter(ctx, id));
      if (FAILED.has(status))
        throw new PeeredError('EKL_PEERED_PEERING_FAILED', `VPC peering ${id} went to ${status}`);
      return status === 'active' ? { done: true, value: status } : { done: false, state: status };
    },
    {
      clock: ctx.clock,
      timeoutMs: ctx.config.timeouts.peeringActiveSec * 1000,
      intervalMs: ctx.pollIntervalMs,
      onPoll: (state) =>
        emit(ctx.sink, MSG.WAITING, ctx.clock.now(), `VPC peering ${id}: ${state}`, {
          step: 'peering-accept',
          account: 'accepter',
          data: { state },
        }),
    },
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
