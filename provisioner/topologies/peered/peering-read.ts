/** Peering read: the tagged peering connections, the one this deployment keeps, and the sides' VPCs and TGW attachments. */
import {
  DescribeTransitGatewayAttachmentsCommand,
  DescribeVpcPeeringConnectionsCommand,
  DescribeVpcsCommand,
  type TransitGatewayAttachment,
  type VpcPeeringConnection,
} from '@aws-sdk/client-ec2';
import type { AccountConnection } from '../../aws/account.js';
import { chooseKeeper, reportDuplicates } from '../shared/duplicates.js';
import { vpcCidrBlocks } from '../shared/network-reads.js';
import { listTagged } from '../shared/tagged-read.js';
import type { PeeredContext } from './context.js';

/** Peering states that are over: such a connection is history, not ours to manage. */
export const ENDED = new Set(['deleted', 'deleting', 'rejected', 'failed', 'expired']);
export const FAILED = new Set(['rejected', 'failed', 'expired']);
export const GONE = ['InvalidVpcPeeringConnectionID.NotFound', 'InvalidVpcPeeringConnectionId.NotFound'];

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

export function statusOf(p: VpcPeeringConnection | undefined): string {
  return p?.Status?.Code ?? 'unknown';
}

export async function readVpcCidrs(conn: AccountConnection, vpcId: string): Promise<string[] | undefined> {
  try {
    const out = await conn.call('DescribeVpcs', `VPC ${vpcId}`, () =>
      conn.ec2.send(new DescribeVpcsCommand({ VpcIds: [vpcId] })),
    );
    const vpc = out.Vpcs?.[0];
    if (!vpc) return undefined;
    return vpcCidrBlocks(vpc);
  } catch (err) {
    if ((err as { awsCode?: string }).awsCode === 'InvalidVpcID.NotFound') return undefined;
    throw err;
  }
}

export async function readAttachment(
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

export function matchesConfig(ctx: PeeredContext, p: VpcPeeringConnection): boolean {
  const { requester, accepter } = ctx.config;
  return (
    p.RequesterVpcInfo?.VpcId === requester.vpcId &&
    p.RequesterVpcInfo?.OwnerId === requester.accountId &&
    p.AccepterVpcInfo?.VpcId === accepter.vpcId &&
    p.AccepterVpcInfo?.OwnerId === accepter.accountId &&
    (p.AccepterVpcInfo?.Region === undefined || p.AccepterVpcInfo.Region === accepter.region)
  );
}

export const peeringId = (p: VpcPeeringConnection) => p.VpcPeeringConnectionId!;
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
export function choosePeering(ctx: PeeredContext, live: readonly VpcPeeringConnection[]) {
  return chooseKeeper(
    live.filter((p) => matchesConfig(ctx, p)),
    { id: peeringId, inUse: (p) => ({ score: PEERING_USE[statusOf(p)] ?? 0, as: statusOf(p) }) },
  );
}

export function describePeering(ctx: PeeredContext): string {
  const { requester: r, accepter: a } = ctx.config;
  return `${r.vpcId} (${r.accountId} ${r.region}) -> ${a.vpcId} (${a.accountId} ${a.region})`;
}

/** Every peering connection carrying this deployment's tags (requester account: tags are per account). */
export async function taggedPeerings(ctx: PeeredContext): Promise<VpcPeeringConnection[]> {
  const conn = ctx.requester;
  const all = await listTagged(conn, ctx.config.deployment, {
    operation: 'DescribeVpcPeeringConnections',
    what: 'peering connections',
    callWhat: 'peering connections of this deployment',
    maxPages: 20,
    send: (Filters, NextToken) =>
      conn.ec2.send(new DescribeVpcPeeringConnectionsCommand({ Filters, NextToken })),
    page: (out) => ({ items: out.VpcPeeringConnections, next: out.NextToken }),
  });
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

export async function describeFromAccepter(
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
