import {
  DeleteLoadBalancerCommand,
  DeleteTargetGroupCommand,
  DescribeLoadBalancersCommand,
  ModifyListenerAttributesCommand,
  ModifyLoadBalancerAttributesCommand,
  ModifyTargetGroupAttributesCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { ProvisionError } from '../../errors.js';
import { ignoreGone } from '../shared/ops.js';
import { waitReporting } from '../shared/visibility.js';
import type { GcpToAwsContext } from './context.js';

/** ELBv2 codes meaning the resource is already gone. */
export const GONE = ['LoadBalancerNotFound', 'TargetGroupNotFound', 'ListenerNotFound'];

/** Wait until the NLB is active; a `failed` NLB stops the wait at once. */
export async function waitActive(ctx: GcpToAwsContext, arn: string, name: string): Promise<void> {
  const conn = ctx.provider;
  await waitReporting(
    ctx,
    { step: 'nlb', account: 'provider' },
    { awaited: `load balancer ${name}`, label: `load balancer ${name}` },
    async () => {
      const out = await conn.call(
        'DescribeLoadBalancers',
        `load balancer ${name}`,
        () => conn.elbv2.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [arn] })),
        { alsoRetry: ['LoadBalancerNotFound'] },
      );
      const state = out.LoadBalancers?.[0]?.State;
      if (state?.Code === 'failed') {
        throw new ProvisionError(
          'EKL_PROVISION_NLB_FAILED',
          `load balancer ${name} is in state failed: ${state.Reason ?? 'no reason given'}; fix the cause and run apply again to replace it`,
        );
      }
      return state?.Code === 'active'
        ? { done: true, value: undefined }
        : { done: false, state: state?.Code ?? 'unknown' };
    },
    ctx.config.timeouts.nlbActiveSec * 1000,
  );
}

export async function setLbAttributes(
  ctx: GcpToAwsContext,
  arn: string,
  attrs: Record<string, string>,
): Promise<void> {
  await ctx.provider.call('ModifyLoadBalancerAttributes', `load balancer ${arn}`, () =>
    ctx.provider.elbv2.send(
      new ModifyLoadBalancerAttributesCommand({
        LoadBalancerArn: arn,
        Attributes: Object.entries(attrs).map(([Key, Value]) => ({ Key, Value })),
      }),
    ),
  );
}

export async function setTgAttributes(
  ctx: GcpToAwsContext,
  arn: string,
  attrs: Record<string, string>,
): Promise<void> {
  await ctx.provider.call(
    'ModifyTargetGroupAttributes',
    `target group ${arn}`,
    () =>
      ctx.provider.elbv2.send(
        new ModifyTargetGroupAttributesCommand({
          TargetGroupArn: arn,
          Attributes: Object.entries(attrs).map(([Key, Value]) => ({ Key, Value })),
        }),
      ),
    { alsoRetry: ['TargetGroupNotFound'] },
  );
}

export async function setListenerAttributes(
  ctx: GcpToAwsContext,
  arn: string,
  attrs: Record<string, string>,
): Promise<void> {
  await ctx.provider.call(
    'ModifyListenerAttributes',
    `listener ${arn}`,
    () =>
      ctx.provider.elbv2.send(
        new ModifyListenerAttributesCommand({
          ListenerArn: arn,
          Attributes: Object.entries(attrs).map(([Key, Value]) => ({ Key, Value })),
        }),
      ),
    { alsoRetry: ['ListenerNotFound'] },
  );
}

export async function deleteLoadBalancer(ctx: GcpToAwsContext, arn: string): Promise<void> {
  await ignoreGone(GONE, () =>
    ctx.provider.call('DeleteLoadBalancer', `load balancer ${arn}`, () =>
      ctx.provider.elbv2.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: arn })),
    ),
  );
}

export async function deleteTargetGroup(ctx: GcpToAwsContext, arn: string): Promise<void> {
  // Right after its load balancer is deleted a target group can still be "in use" for a while.
  await ignoreGone(GONE, () =>
    ctx.provider.call(
      'DeleteTargetGroup',
      `target group ${arn}`,
      () => ctx.provider.elbv2.send(new DeleteTargetGroupCommand({ TargetGroupArn: arn })),
      { alsoRetry: ['ResourceInUse'] },
    ),
  );
}
