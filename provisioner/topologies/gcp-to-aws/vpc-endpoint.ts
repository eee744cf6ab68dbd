import { change, type Change, type Step } from '../../engine/step.js';
import { duplicateReason } from '../shared/duplicates.js';
import { runOps, type Op } from '../shared/ops.js';
import { publishEndpointAddresses } from './endpoint-addresses.js';
import { endpointOps } from './endpoint-create-repair.js';
import { deleteEndpoint } from './endpoint-delete.js';
import { deleteSecurityGroup, securityGroupOps } from './endpoint-group-rules.js';
import { groupId, publishEndpoint, readVpcEndpoint, type VpcEndpointState } from './endpoint-read.js';
import type { GcpToAwsContext } from './context.js';
import { VPC_ENDPOINT_PERMISSIONS } from './vpc-endpoint-permissions.js';

function vpcEndpointOps(ctx: GcpToAwsContext, s: VpcEndpointState): Op[] {
  const ops = [...securityGroupOps(ctx, s), ...endpointOps(ctx, s)];
  // A duplicate group can only go once no endpoint uses it: after the endpoint ops.
  for (const extra of s.securityGroups.slice(1)) {
    ops.push({
      change: change('delete', `security group ${extra.GroupId}`, duplicateReason(s.groupChoice, groupId)),
      run: () => deleteSecurityGroup(ctx, extra.GroupId!),
    });
  }
  return ops;
}

/** Step 3, consumer: security group (TCP 443 from the allowed CIDRs) and the interface endpoint. */
export const vpcEndpointStep: Step<GcpToAwsContext, VpcEndpointState> = {
  id: 'vpc-endpoint',
  title: 'consumer: interface VPC endpoint and its security group (TCP 443 from allowed CIDRs)',
  account: 'consumer',
  permissions: VPC_ENDPOINT_PERMISSIONS,
  read: readVpcEndpoint,
  plan: (ctx, current): readonly Change[] => vpcEndpointOps(ctx, current).map((op) => op.change),
  apply: (ctx, current) => runOps(ctx, 'vpc-endpoint', 'consumer', vpcEndpointOps(ctx, current)),
  async destroy(ctx, current) {
    const done: Change[] = [];
    for (const ep of current.endpoints) {
      await deleteEndpoint(ctx, ep.VpcEndpointId!);
      done.push(change('delete', `VPC endpoint ${ep.VpcEndpointId}`, 'destroy'));
    }
    for (const sg of current.securityGroups) {
      await deleteSecurityGroup(ctx, sg.GroupId!);
      done.push(change('delete', `security group ${sg.GroupId}`, 'destroy'));
    }
    publishEndpoint(ctx, undefined);
    await publishEndpointAddresses(ctx, undefined);
    return done;
  },
};
