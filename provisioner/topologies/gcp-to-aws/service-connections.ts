import {
  DescribeVpcEndpointConnectionsCommand,
  RejectVpcEndpointConnectionsCommand,
  type VpcEndpointConnection,
} from '@aws-sdk/client-ec2';
import { ProvisionError } from '../../errors.js';
import { MSG } from '../../engine/messages.js';
import { emit } from '../../engine/output.js';
import { change, type Change } from '../../engine/step.js';
import type { IamPermission } from '../../iam/policy.js';
import { awsFailure } from '../shared/ops.js';
import { collectPages } from '../shared/pages.js';
import type { GcpToAwsContext } from './context.js';

/** AWS spells states `pendingAcceptance` on the wire; the SDK enum says `PendingAcceptance`. */
export function connectionState(c: VpcEndpointConnection): string {
  return (c.VpcEndpointState ?? '').toLowerCase();
}

/** States that keep an endpoint service from being deleted (AWS: reject them first). */
const LIVE = ['pendingacceptance', 'pending', 'available'];

/** Every connection of the endpoint service, all pages. */
export async function listConnections(
  ctx: GcpToAwsContext,
  serviceId: string,
): Promise<VpcEndpointConnection[]> {
  const conn = ctx.provider;
  const all = await collectPages(`connections of endpoint service ${serviceId}`, async (NextToken) => {
    const out = await conn.call(
      'DescribeVpcEndpointConnections',
      `connections of endpoint service ${serviceId}`,
      () =>
        conn.ec2.send(
          new DescribeVpcEndpointConnectionsCommand({
            Filters: [{ Name: 'service-id', Values: [serviceId] }],
            NextToken,
          }),
        ),
    );
    return { items: out.VpcEndpointConnections ?? [], next: out.NextToken };
  });
  return all.filter((c) => c.ServiceId === undefined || c.ServiceId === serviceId);
}

function describe(c: VpcEndpointConnection): string {
  return `${c.VpcEndpointId} (owner ${c.VpcEndpointOwner ?? 'unknown'}, ${c.VpcEndpointState})`;
}

/**
 * Before our endpoint service is deleted: reject every connection still live on it. Ours is
 * gone by then (step vpc-endpoint is destroyed first), so these are someone else's endpoints;
 * AWS refuses to delete a service that has them (`ExistingVpcEndpointConnections`), and a
 * destroy must never get stuck on a stranger's endpoint. Each one is reported.
 */
export async function rejectLiveConnections(ctx: GcpToAwsContext, serviceId: string): Promise<Change[]> {
  const live = (await listConnections(ctx, serviceId)).filter((c) => LIVE.includes(connectionState(c)));
  if (live.length === 0) return [];
  const ids = live.map((c) => c.VpcEndpointId!);
  const conn = ctx.provider;
  await conn.call(
    'RejectVpcEndpointConnections',
    `connections ${ids.join(', ')} of ${serviceId}`,
    async () => {
      const out = await conn.ec2.send(
        new RejectVpcEndpointConnectionsCommand({ ServiceId: serviceId, VpcEndpointIds: ids }),
      );
      // An endpoint deleted meanwhile is as good as rejected.
      const failed = (out.Unsuccessful ?? []).find((u) => u.Error?.Code !== 'InvalidVpcEndpointId.NotFound');
      if (failed) throw awsFailure(failed.Error?.Code, `${failed.ResourceId}: ${failed.Error?.Message}`);
    },
  );
  return live.map((c) => {
    const text = `rejected endpoint connection ${describe(c)} on ${serviceId}: not created by deployment ${ctx.config.deployment}; the service is being deleted`;
    emit(ctx.sink, MSG.FOREIGN_CONNECTION_REJECTED, ctx.clock.now(), text, {
      step: 'endpoint-service',
      account: 'provider',
      data: {
        serviceId,
        vpcEndpointId: c.VpcEndpointId,
        owner: c.VpcEndpointOwner,
        state: c.VpcEndpointState,
      },
    });
    return change(
      'update',
      `endpoint connection ${c.VpcEndpointId}`,
      `rejected (owner ${c.VpcEndpointOwner ?? 'unknown'}, was ${c.VpcEndpointState}): not created by this deployment`,
    );
  });
}

/** DeleteVpcEndpointServiceConfigurations still refused: name what blocks it and how to clear it. */
export async function destroyBlocked(
  ctx: GcpToAwsContext,
  serviceId: string,
  cause: unknown,
): Promise<ProvisionError> {
  const live = (await listConnections(ctx, serviceId)).filter((c) => LIVE.includes(connectionState(c)));
  const ids = live.map((c) => c.VpcEndpointId!).join(' ');
  return new ProvisionError(
    'EKL_PROVISION_DESTROY_BLOCKED',
    `endpoint service ${serviceId} still has endpoint connections ${live.map(describe).join(', ') || '(none listed yet: AWS may still be releasing them)'}; ` +
      `clear them with: aws ec2 reject-vpc-endpoint-connections --region ${ctx.provider.region} --service-id ${serviceId}${ids ? ` --vpc-endpoint-ids ${ids}` : ' --vpc-endpoint-ids <ids>'}, then run destroy again`,
    { cause, awsCode: 'ExistingVpcEndpointConnections', retryable: true },
  );
}

export const SERVICE_CONNECTION_PERMISSIONS: readonly IamPermission[] = [
  {
    why: 'list the connections of the endpoint service',
    actions: ['ec2:DescribeVpcEndpointConnections'],
    resources: ['*'],
    tagCondition: 'none',
  },
  {
    why: 'reject connections left on an endpoint service carrying the managed-by tag before deleting it',
    actions: ['ec2:RejectVpcEndpointConnections'],
    resources: ['arn:aws:ec2:*:*:vpc-endpoint-service/*'],
    tagCondition: 'resource',
  },
];
