/** Step vpc-endpoint: delete an interface endpoint and wait until AWS no longer lists it. */
import { DeleteVpcEndpointsCommand, DescribeVpcEndpointsCommand } from '@aws-sdk/client-ec2';
import { AwsCallError } from '../../errors.js';
import { waitFor } from '../../engine/waiter.js';
import { awsFailure, ignoreGone } from '../shared/ops.js';
import type { GcpToAwsContext } from './context.js';

const ENDPOINT_GONE = ['InvalidVpcEndpointId.NotFound', 'InvalidVpcEndpoint.NotFound'];

/** Delete an endpoint and wait until it is gone (its ENIs hold the security group until then). */
export async function deleteEndpoint(ctx: GcpToAwsContext, id: string): Promise<void> {
  const conn = ctx.consumer;
  await ignoreGone(ENDPOINT_GONE, () =>
    conn.call('DeleteVpcEndpoints', `VPC endpoint ${id}`, async () => {
      const out = await conn.ec2.send(new DeleteVpcEndpointsCommand({ VpcEndpointIds: [id] }));
      const failed = out.Unsuccessful?.[0];
      if (failed) throw awsFailure(failed.Error?.Code, failed.Error?.Message);
    }),
  );
  await waitFor(
    `deletion of VPC endpoint ${id}`,
    async () => {
      try {
        const out = await conn.call('DescribeVpcEndpoints', `VPC endpoint ${id}`, () =>
          conn.ec2.send(new DescribeVpcEndpointsCommand({ VpcEndpointIds: [id] })),
        );
        const state = (out.VpcEndpoints?.[0]?.State ?? 'deleted').toLowerCase();
        return state === 'deleted' ? { done: true, value: undefined } : { done: false, state };
      } catch (err) {
        if (err instanceof AwsCallError && ENDPOINT_GONE.includes(err.awsCode ?? ''))
          return { done: true, value: undefined };
        throw err;
      }
    },
    {
      clock: ctx.clock,
      timeoutMs: ctx.config.timeouts.endpointAvailableSec * 1000,
      intervalMs: ctx.pollIntervalMs,
    },
  );
}
