import {
  CreateRouteCommand,
  DeleteRouteCommand,
  DescribeRouteTablesCommand,
  ReplaceRouteCommand,
  type Route,
  type RouteTable,
} from '@aws-sdk/client-ec2';
import { AwsCallError } from '../../errors.js';
import { MSG } from '../../engine/messages.js';
import { emit } from '../../engine/output.js';
import { change, type Change, type Step } from '../../engine/step.js';
import type { IamPermission } from '../../iam/policy.js';
import type { PeeredSide } from './config.js';
import { peeredConfigOf, peeringOnly, sideOf } from './iam-scope.js';
import type { PeeredContext } from './context.js';
import { PeeredError } from './errors.js';
import { ignoreGone, runOps, type Op } from '../shared/ops.js';
import { loadPeeringFacts } from './peering-read.js';

export interface RoutesState {
  readonly tables: readonly RouteTable[];
}

const ROUTE_GONE = ['InvalidRoute.NotFound', 'InvalidRouteTableID.NotFound'];

function other(side: PeeredSide): PeeredSide {
  return side === 'requester' ? 'accepter' : 'requester';
}

function targetOf(r: Route): string | undefined {
  return (
    r.VpcPeeringConnectionId ??
    r.TransitGatewayId ??
    r.GatewayId ??
    r.NatGatewayId ??
    r.NetworkInterfaceId ??
    r.InstanceId ??
    undefined
  );
}

async function readRoutes(ctx: PeeredContext, side: PeeredSide): Promise<RoutesState> {
  await loadPeeringFacts(ctx);
  const conn = ctx.side(side);
  const ids = ctx.config[side].routeTableIds;
  try {
    const out = await conn.call('DescribeRouteTables', `route tables ${ids.join(', ')}`, () =>
      conn.ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [...ids] })),
    );
    return { tables: out.RouteTables ?? [] };
  } catch (err) {
    if ((err as { awsCode?: string }).awsCode === 'InvalidRouteTableID.NotFound') return { tables: [] };
    throw err;
  }
}

/** Routes this deployment made: exactly the peer CIDR, to a peering connection it created. */
function isOurs(ctx: PeeredContext, r: Route, destination: string): boolean {
  const known = new Set([
    ...(ctx.facts.knownPeeringIds ?? []),
    ...(ctx.facts.peeringConnectionId ? [ctx.facts.peeringConnectionId] : []),
  ]);
  return (
    r.DestinationCidrBlock === destination &&
    r.VpcPeeringConnectionId !== undefined &&
    known.has(r.VpcPeeringConnectionId)
  );
}

function routeOps(ctx: PeeredContext, side: PeeredSide, s: RoutesState): Op[] {
  const conn = ctx.side(side);
  const cfg = ctx.config[side];
  const destination = ctx.config[other(side)].cidr;
  const target = ctx.facts.routeTarget;
  const ops: Op[] = [];
  for (const id of cfg.routeTableIds) {
    const table = s.tables.find((t) => t.RouteTableId === id);
    if (!table) {
      throw new PeeredError(
        'EKL_PEERED_ROUTE_TABLE',
        `${side}.routeTableIds: ${id} not found in account ${cfg.accountId} (${cfg.region})`,
      );
    }
    if (table.VpcId !== cfg.vpcId) {
      throw new PeeredError(
        'EKL_PEERED_ROUTE_TABLE',
        `${side}.routeTableIds: ${id} belongs to ${table.VpcId}, not ${cfg.vpcId}`,
      );
    }
    const label = `route ${destination} in ${id}`;
    const existing = (table.Routes ?? []).find((r) => r.DestinationCidrBlock === destination);
    const existingTarget = existing ? targetOf(existing) : undefined;

    if (ctx.config.transitGateway) {
      const tgw = ctx.config.transitGateway.transitGatewayId;
      if (existing?.TransitGatewayId !== tgw || existing.State === 'blackhole') {
        throw new PeeredError(
          'EKL_PEERED_TGW_ROUTE_MISSING',
          `${label}: ${existing ? `goes to ${existingTarget} (${existing.State})` : 'missing'}, want ${tgw}; Transit Gateway routes are checked, not made: aws ec2 create-route --route-table-id ${id} --destination-cidr-block ${destination} --transit-gateway-id ${tgw}`,
        );
      }
      ops.push({ change: change('none', label, `-> ${tgw} (checked only)`) });
      continue;
    }

    const create = (): Op => ({
      change: change(
        'create',
        label,
        target ? `-> ${target.id}` : '-> the peering connection of step peering-request',
      ),
      run: async () => {
        const pcx = requireTarget(ctx);
        // No idempotency token: after an unanswered try, read the table before asking again;
        // `RouteAlreadyExists` from a retry AWS had carried out is success when it goes to our peering.
        const routed = async () => ((await routeTo(ctx, side, id, destination)) === pcx ? true : undefined);
        try {
          await conn.call(
            'CreateRoute',
            label,
            async () =>
              (
                await conn.ec2.send(
                  new CreateRouteCommand({
                    RouteTableId: id,
                    DestinationCidrBlock: destination,
                    VpcPeeringConnectionId: pcx,
                  }),
                )
              ).Return ?? true,
            { recheck: routed },
          );
        } catch (err) {
          if (!(err instanceof AwsCallError) || err.awsCode !== 'RouteAlreadyExists' || !(await routed()))
            throw err;
          emit(ctx.sink, MSG.ALREADY_THERE, ctx.clock.now(), `${label} is already there: -> ${pcx}`, {
            step: `routes-${side}`,
            account: side,
            data: { operation: 'CreateRoute', resource: id },
          });
        }
      },
    });
    if (!existing) {
      ops.push(create());
    } else if (target && existing.VpcPeeringConnectionId === target.id && existing.State !== 'blackhole') {
      ops.push({ change: change('none', label, `-> ${target.id}`) });
    } else if (isOurs(ctx, existing, destination) || existing.State === 'blackhole') {
      // A route to a peering this deployment made earlier, or one that carries no traffic: safe to repoint.
      ops.push({
        change: change(
          'update',
          label,
          `${existingTarget} (${existing.State}) -> ${target?.id ?? 'the new peering connection'}`,
        ),
        run: async () => {
          const pcx = requireTarget(ctx);
          await conn.call('ReplaceRoute', label, () =>
            conn.ec2.send(
              new ReplaceRouteCommand({
                RouteTableId: id,
                DestinationCidrBlock: destination,
                VpcPeeringConnectionId: pcx,
              }),
            ),
          );
        },
      });
    } else {
      throw new PeeredError(
        'EKL_PEERED_ROUTE_CONFLICT',
        `${label} already goes to ${existingTarget}, which this deployment did not create; remove it or name another route table`,
      );
    }
  }
  return ops;
}

/** Where the route for `destination` in one table goes now, if anywhere. */
async function routeTo(
  ctx: PeeredContext,
  side: PeeredSide,
  tableId: string,
  destination: string,
): Promise<string | undefined> {
  const conn = ctx.side(side);
  const out = await conn.call('DescribeRouteTables', `route table ${tableId}`, () =>
    conn.ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [tableId] })),
  );
  const route = (out.RouteTables?.[0]?.Routes ?? []).find((r) => r.DestinationCidrBlock === destination);
  return route ? targetOf(route) : undefined;
}

function requireTarget(ctx: PeeredContext): string {
  const target = ctx.facts.routeTarget;
  if (target?.kind !== 'peering') {
    throw new PeeredError(
      'EKL_PEERED_PEERING_FAILED',
      'no peering connection to route to: step peering-request has not created it',
    );
  }
  return target.id;
}

const PERMISSIONS: readonly IamPermission[] = [
  {
    why: 'read the route tables',
    actions: ['ec2:DescribeRouteTables'],
    resources: ['*'],
    tagCondition: 'none',
  },
  {
    why: 'route the peer CIDR to the peering connection',
    actions: ['ec2:CreateRoute', 'ec2:ReplaceRoute', 'ec2:DeleteRoute'],
    resources: ['arn:aws:ec2:*:*:route-table/*'],
    tagCondition: 'none',
    // In Transit Gateway mode routes are checked, never written.
    scoped: (scope) => ({
      resources: peeringOnly(
        scope,
        peeredConfigOf(scope)[sideOf(scope)].routeTableIds.map(
          (id) => `arn:aws:ec2:${scope.region}:${scope.accountId}:route-table/${id}`,
        ),
      ),
    }),
  },
];

/** Step 2 (one per side): a route for exactly the other side's CIDR in each named route table. */
export function routesStep(side: PeeredSide): Step<PeeredContext, RoutesState> {
  const id = `routes-${side}`;
  return {
    id,
    title: `${side}: route the ${other(side)} CIDR to the peering connection in the named route tables`,
    account: side,
    permissions: PERMISSIONS,
    read: (ctx) => readRoutes(ctx, side),
    plan: (ctx, s) => routeOps(ctx, side, s).map((o) => o.change),
    apply: (ctx, s) => runOps(ctx, id, side, routeOps(ctx, side, s)),
    async destroy(ctx, s) {
      if (ctx.config.transitGateway) return [];
      const conn = ctx.side(side);
      const destination = ctx.config[other(side)].cidr;
      const deleted: Change[] = [];
      for (const table of s.tables) {
        const route = (table.Routes ?? []).find((r) => isOurs(ctx, r, destination));
        if (!route) continue;
        const label = `route ${destination} in ${table.RouteTableId}`;
        await ignoreGone(ROUTE_GONE, () =>
          conn.call('DeleteRoute', label, () =>
            conn.ec2.send(
              new DeleteRouteCommand({ RouteTableId: table.RouteTableId, DestinationCidrBlock: destination }),
            ),
          ),
        );
        deleted.push(change('delete', label, `-> ${route.VpcPeeringConnectionId}`));
      }
      return deleted;
    },
  };
}
