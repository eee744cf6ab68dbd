import {
  AcceptVpcEndpointConnectionsCommand,
  DescribeVpcEndpointsCommand,
  type VpcEndpointConnection,
} from '@aws-sdk/client-ec2';
import { ProvisionError } from '../../errors.js';
import { MSG } from '../../engine/messages.js';
import { emit } from '../../engine/output.js';
import { change, type Change, type Step } from '../../engine/step.js';
import { waitFor } from '../../engine/waiter.js';
import type { IamPermission } from '../../iam/policy.js';
import type { GcpToAwsContext } from './context.js';
import { ENDPOINT_ADDRESS_PERMISSIONS, publishEndpointAddresses } from './endpoint-addresses.js';
import { runOps, type Op } from '../shared/ops.js';
import { waitReporting } from '../shared/visibility.js';
import { listConnections } from './service-connections.js';

export interface AcceptState {
  /** The connection of the endpoint this deployment created, if the service shows it yet. */
  readonly ours: VpcEndpointConnection | undefined;
  /** Other connections waiting for acceptance: never accepted by us, only reported. */
  readonly foreignPending: readonly VpcEndpointConnection[];
}

/** AWS spells states `pendingAcceptance` on the wire; the SDK enum says `PendingAcceptance`. */
function stateOf(value: string | undefined): string {
  return (value ?? '').toLowerCase();
}

function isOurs(ctx: GcpToAwsContext, c: VpcEndpointConnection): boolean {
  return c.VpcEndpointId === ctx.facts.endpointId && c.VpcEndpointOwner === ctx.config.consumer.accountId;
}

async function readAccept(ctx: GcpToAwsContext): Promise<AcceptState> {
  const serviceId = ctx.facts.serviceId;
  if (serviceId === undefined) return { ours: undefined, foreignPending: [] };
  const all = await listConnections(ctx, serviceId);
  const ours = ctx.facts.endpointId === undefined ? undefined : all.find((c) => isOurs(ctx, c));
  const foreignPending = all.filter(
    (c) => !isOurs(ctx, c) && stateOf(c.VpcEndpointState) === 'pendingacceptance',
  );
  for (const c of foreignPending) {
    emit(
      ctx.sink,
      MSG.FOREIGN_PENDING_CONNECTION,
      ctx.clock.now(),
      `pending connection ${c.VpcEndpointId} from account ${c.VpcEndpointOwner} was not created by deployment ${ctx.config.deployment}: left alone`,
      {
        step: 'accept-connection',
        account: 'provider',
        data: { vpcEndpointId: c.VpcEndpointId, owner: c.VpcEndpointOwner },
      },
    );
  }
  ctx.facts.connectionState = ours?.VpcEndpointState;
  return { ours, foreignPending };
}

function acceptOps(ctx: GcpToAwsContext, s: AcceptState): Op[] {
  const endpointId = ctx.facts.endpointId;
  const label = `endpoint connection ${endpointId ?? '(endpoint of step vpc-endpoint)'}`;
  const state = s.ours === undefined ? undefined : stateOf(s.ours.VpcEndpointState);
  if (state === 'available' && stateOf(ctx.facts.endpointState) === 'available') {
    return [{ change: change('none', label, 'accepted, endpoint available') }];
  }
  const reason =
    endpointId === undefined
      ? 'accept the connection of the endpoint created in step vpc-endpoint, then wait until available'
      : state === undefined
        ? 'wait for the connection to appear, accept it, wait until available'
        : state === 'pendingacceptance'
          ? `pendingAcceptance from ${s.ours?.VpcEndpointOwner}: accept it, wait until available`
          : `state ${state}: wait until available`;
  return [{ change: change('update', label, reason), run: () => acceptAndWait(ctx) }];
}

async function acceptAndWait(ctx: GcpToAwsContext): Promise<void> {
  const serviceId = ctx.facts.serviceId!;
  const endpointId = ctx.facts.endpointId!;
  const timeoutMs = ctx.config.timeouts.endpointAvailableSec * 1000;
  const waitOpts = { clock: ctx.clock, timeoutMs, intervalMs: ctx.pollIntervalMs };
  // The service may not list a just-created endpoint's connection yet (eventual consistency).
  const ours = await waitFor(
    `connection of ${endpointId} on endpoint service ${serviceId}`,
    async () => {
      const found = (await listConnections(ctx, serviceId)).find((c) => isOurs(ctx, c));
      return found ? { done: true, value: found } : { done: false, state: 'not listed yet' };
    },
    waitOpts,
  ).catch((err: unknown) => {
    // Only running out of time means "not listed"; an AWS failure keeps its own code.
    if (!(err instanceof ProvisionError) || err.code !== 'EKL_PROVISION_WAIT_TIMEOUT') throw err;
    throw new ProvisionError(
      'EKL_PROVISION_CONNECTION_NOT_FOUND',
      `endpoint service ${serviceId} shows no connection from ${endpointId} (owner ${ctx.config.consumer.accountId}); check the allowed principals`,
      { cause: err },
    );
  });
  if (stateOf(ours.VpcEndpointState) === 'pendingacceptance') {
    const conn = ctx.provider;
    await conn.call('AcceptVpcEndpointConnections', `endpoint connection ${endpointId}`, async () => {
      // Exactly one ID, the one this deployment created: never a bulk accept.
      const out = await conn.ec2.send(
        new AcceptVpcEndpointConnectionsCommand({ ServiceId: serviceId, VpcEndpointIds: [endpointId] }),
      );
      const failed = out.Unsuccessful?.find((u) => u.ResourceId === endpointId) ?? out.Unsuccessful?.[0];
      if (failed) {
        throw new ProvisionError(
          'EKL_PROVISION_ACCEPT_FAILED',
          `accepting ${endpointId} on ${serviceId} was unsuccessful: ${failed.Error?.Code}: ${failed.Error?.Message}`,
          { awsCode: failed.Error?.Code },
        );
      }
    });
  } else if (stateOf(ours.VpcEndpointState) === 'rejected') {
    throw new ProvisionError(
      'EKL_PROVISION_ENDPOINT_REJECTED',
      `connection of ${endpointId} on ${serviceId} is rejected; run apply again to replace the endpoint`,
    );
  }
  await waitReporting(
    ctx,
    { step: 'accept-connection', account: 'consumer' },
    { awaited: `VPC endpoint ${endpointId} available`, label: `VPC endpoint ${endpointId}` },
    async () => {
      const out = await ctx.consumer.call(
        'DescribeVpcEndpoints',
        `VPC endpoint ${endpointId}`,
        () => ctx.consumer.ec2.send(new DescribeVpcEndpointsCommand({ VpcEndpointIds: [endpointId] })),
        // A just-created endpoint may not be visible to Describe yet.
        { alsoRetry: ['InvalidVpcEndpointId.NotFound'] },
      );
      const ep = out.VpcEndpoints?.[0];
      const state = ep?.State ?? 'unknown';
      if (['rejected', 'failed', 'expired'].includes(state.toLowerCase())) {
        throw new ProvisionError(
          'EKL_PROVISION_ENDPOINT_REJECTED',
          `VPC endpoint ${endpointId} is ${state}; run apply again to replace it`,
        );
      }
      if (state.toLowerCase() !== 'available') return { done: false, state };
      ctx.facts.endpointState = 'available';
      ctx.facts.endpointDnsNames = (ep?.DnsEntries ?? []).map((d) => d.DnsName!).filter(Boolean);
      // Available is when every subnet's network interface exists: read their addresses now.
      await publishEndpointAddresses(ctx, ep);
      return { done: true, value: undefined };
    },
    timeoutMs,
  );
  ctx.facts.connectionState = 'available';
}

export const ACCEPT_PERMISSIONS: readonly IamPermission[] = [
  {
    why: 'accept connections only on endpoint services carrying the managed-by tag',
    actions: ['ec2:AcceptVpcEndpointConnections'],
    resources: ['arn:aws:ec2:*:*:vpc-endpoint-service/*'],
    tagCondition: 'resource',
  },
  {
    why: 'watch the consumer endpoint become available',
    actions: ['ec2:DescribeVpcEndpoints'],
    resources: ['*'],
    tagCondition: 'none',
    account: 'consumer',
  },
  ...ENDPOINT_ADDRESS_PERMISSIONS.map((p) => ({ ...p, account: 'consumer' })),
];

/**
 * Step 4, provider: accept exactly the connection of the endpoint step 3 created (matched by
 * endpoint ID and owner account); other pending connections are reported, never accepted.
 * It also reads the endpoint's state in the consumer account while waiting.
 */
export const acceptConnectionStep: Step<GcpToAwsContext, AcceptState> = {
  id: 'accept-connection',
  title: 'provider: accept the endpoint connection this deployment created, wait until available',
  account: 'provider',
  permissions: ACCEPT_PERMISSIONS,
  read: readAccept,
  plan: (ctx, current): readonly Change[] => acceptOps(ctx, current).map((op) => op.change),
  apply: (ctx, current) => runOps(ctx, 'accept-connection', 'provider', acceptOps(ctx, current)),
  // The connection goes with the endpoint, which step vpc-endpoint deletes.
  destroy: async () => [],
};
