import { CreateVpcEndpointCommand, ModifyVpcEndpointCommand } from '@aws-sdk/client-ec2';
import { tagSpecifications } from '../../aws/tags.js';
import { change } from '../../engine/step.js';
import { clientToken } from '../../engine/client-token.js';
import { duplicateReason } from '../shared/duplicates.js';
import type { Op } from '../shared/ops.js';
import { waitUntilListed } from '../shared/visibility.js';
import { publishEndpointAddresses } from './endpoint-addresses.js';
import { deleteEndpoint } from './endpoint-delete.js';
import { endpointId, listEndpoints, publishEndpoint, type VpcEndpointState } from './endpoint-read.js';
import { resourceNames } from './config.js';
import type { GcpToAwsContext } from './context.js';

/** States after which an endpoint will never carry traffic: replace it. */
const DEAD_STATES = ['rejected', 'failed', 'expired'];

/**
 * The endpoint's changes: create it; replace a dead one or one pointing at another service;
 * repair its subnets and groups; delete duplicates (listed first, so plan shows them on top).
 */
export function endpointOps(ctx: GcpToAwsContext, s: VpcEndpointState): Op[] {
  const conn = ctx.consumer;
  const deployment = ctx.config.deployment;
  const ops: Op[] = [];
  const wantSubnets = [...ctx.config.consumer.subnetIds].sort();
  const ep = s.endpoints[0];
  const state0 = (ep?.State ?? '').toLowerCase();
  const replacing =
    ep !== undefined &&
    (DEAD_STATES.includes(state0) ||
      (ctx.facts.serviceName !== undefined && ep.ServiceName !== ctx.facts.serviceName))
      ? ep.VpcEndpointId
      : undefined;
  const create: Op = {
    change: change(
      'create',
      `VPC endpoint ${resourceNames(deployment).endpoint}`,
      `interface endpoint for ${ctx.facts.serviceName ?? 'the endpoint service of step endpoint-service'} in ${wantSubnets.join(', ')}`,
    ),
    run: async () => {
      const request = {
        VpcEndpointType: 'Interface' as const,
        VpcId: ctx.config.consumer.vpcId,
        ServiceName: ctx.facts.serviceName,
        SubnetIds: wantSubnets,
        SecurityGroupIds: [ctx.facts.securityGroupId!],
        PrivateDnsEnabled: false,
      };
      // Same request, same token: a rerun gets the endpoint a lost answer created. A replacement
      // names what it replaces, so it is a new endpoint.
      const token = clientToken(deployment, 'vpc-endpoint', { ...request, replacing: replacing ?? null });
      const out = await conn.call(
        'CreateVpcEndpoint',
        `VPC endpoint ${resourceNames(deployment).endpoint}`,
        () =>
          conn.ec2.send(
            new CreateVpcEndpointCommand({
              ...request,
              TagSpecifications: tagSpecifications(
                'vpc-endpoint',
                deployment,
                resourceNames(deployment).endpoint,
              ),
              ClientToken: token,
            }),
          ),
        // Right after the service allows this account, the name can take a moment to resolve.
        { alsoRetry: ['InvalidServiceName'] },
      );
      publishEndpoint(ctx, out.VpcEndpoint);
      await publishEndpointAddresses(ctx, out.VpcEndpoint);
      const id = out.VpcEndpoint!.VpcEndpointId!;
      await waitUntilListed(
        ctx,
        { step: 'vpc-endpoint', account: 'consumer' },
        `VPC endpoint ${id}`,
        async () => (await listEndpoints(ctx)).some((e) => e.VpcEndpointId === id),
        ctx.config.timeouts.endpointAvailableSec * 1000,
      );
    },
  };
  if (!ep) return [create];
  const label = `VPC endpoint ${ep.VpcEndpointId}`;
  const state = (ep.State ?? '').toLowerCase();
  if (
    DEAD_STATES.includes(state) ||
    (ctx.facts.serviceName !== undefined && ep.ServiceName !== ctx.facts.serviceName)
  ) {
    const why = DEAD_STATES.includes(state)
      ? `state is ${ep.State}`
      : `points at ${ep.ServiceName}, not ${ctx.facts.serviceName}`;
    ops.push(
      {
        change: change('delete', label, `${why}: replace it`),
        run: () => deleteEndpoint(ctx, ep.VpcEndpointId!),
      },
      create,
    );
  } else {
    const have = [...(ep.SubnetIds ?? [])].sort();
    const groups = (ep.Groups ?? []).map((g) => g.GroupId!);
    const wantGroup = ctx.facts.securityGroupId;
    const addSubnets = wantSubnets.filter((x) => !have.includes(x));
    const removeSubnets = have.filter((x) => !wantSubnets.includes(x));
    const groupsOk = wantGroup !== undefined && groups.length === 1 && groups[0] === wantGroup;
    if (addSubnets.length > 0 || removeSubnets.length > 0 || !groupsOk) {
      const parts = [
        ...(addSubnets.length || removeSubnets.length
          ? [`subnets ${have.join(',')} -> ${wantSubnets.join(',')}`]
          : []),
        ...(groupsOk
          ? []
          : [`security groups ${groups.join(',') || '(none)'} -> ${wantGroup ?? 'the group above'}`]),
      ];
      ops.push({
        change: change('update', label, parts.join('; ')),
        run: async () => {
          const want = ctx.facts.securityGroupId!;
          await conn.call('ModifyVpcEndpoint', label, () =>
            conn.ec2.send(
              new ModifyVpcEndpointCommand({
                VpcEndpointId: ep.VpcEndpointId,
                ...(addSubnets.length ? { AddSubnetIds: addSubnets } : {}),
                ...(removeSubnets.length ? { RemoveSubnetIds: removeSubnets } : {}),
                ...(groups.includes(want) ? {} : { AddSecurityGroupIds: [want] }),
                ...(groups.some((g) => g !== want)
                  ? { RemoveSecurityGroupIds: groups.filter((g) => g !== want) }
                  : {}),
              }),
            ),
          );
        },
      });
    }
    if (ops.length === 0) ops.push({ change: change('none', label, `exists (${ep.State})`) });
  }
  // Duplicates first, so plan shows them at the top of the step.
  const duplicates: Op[] = s.endpoints.slice(1).map((extra) => ({
    change: change(
      'delete',
      `VPC endpoint ${extra.VpcEndpointId}`,
      duplicateReason(s.endpointChoice, endpointId),
    ),
    run: () => deleteEndpoint(ctx, extra.VpcEndpointId!),
  }));
  return [...duplicates, ...ops];
}
