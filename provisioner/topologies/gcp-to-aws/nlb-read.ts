import {
  DescribeListenerAttributesCommand,
  DescribeListenersCommand,
  DescribeLoadBalancerAttributesCommand,
  DescribeLoadBalancersCommand,
  DescribeTagsCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand,
  type Listener,
  type LoadBalancer,
  type TargetGroup,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { AccountConnection } from '../../aws/account.js';
import { isDeploymentResource } from '../../aws/tags.js';
import { MSG } from '../../engine/messages.js';
import { emit } from '../../engine/output.js';
import { AwsCallError } from '../../errors.js';
import { resourceNames } from './config.js';
import type { GcpToAwsContext } from './context.js';

/** The NLB, target group and listener found by this deployment's tags, with their attributes. */
export interface NlbState {
  /** Tagged NLBs that are provisioning or active (more than one only after a fault). */
  readonly loadBalancers: readonly LoadBalancer[];
  /** Tagged NLBs in state `failed`: they never recover, so apply replaces and destroy deletes them. */
  readonly failedLoadBalancers: readonly LoadBalancer[];
  readonly lbAttributes: Readonly<Record<string, string>>;
  readonly targetGroups: readonly TargetGroup[];
  readonly tgAttributes: Readonly<Record<string, string>>;
  readonly listeners: readonly Listener[];
  readonly listenerAttributes: Readonly<Record<string, string>>;
}

function toRecord(
  attrs: readonly { Key?: string | undefined; Value?: string | undefined }[] | undefined,
): Record<string, string> {
  return Object.fromEntries(
    (attrs ?? []).filter((a) => a.Key !== undefined).map((a) => [a.Key!, a.Value ?? '']),
  );
}

/** ARNs among `arns` tagged for this deployment (DescribeTags takes 20 ARNs per call). */
async function taggedArns(conn: AccountConnection, arns: string[], deployment: string): Promise<Set<string>> {
  const ours = new Set<string>();
  for (let i = 0; i < arns.length; i += 20) {
    const chunk = arns.slice(i, i + 20);
    const out = await conn.call('DescribeTags', 'load balancer tags', () =>
      conn.elbv2.send(new DescribeTagsCommand({ ResourceArns: chunk })),
    );
    for (const d of out.TagDescriptions ?? [])
      if (isDeploymentResource(d.Tags, deployment)) ours.add(d.ResourceArn!);
  }
  return ours;
}

/** What `read` lists, or nothing when AWS answers that the named resource does not exist. */
async function unlessNotFound<T>(notFound: string, read: () => Promise<T[]>): Promise<T[]> {
  try {
    return await read();
  } catch (err) {
    if (err instanceof AwsCallError && err.awsCode === notFound) return [];
    throw err;
  }
}

/** Find this deployment's NLB resources by tags (ELBv2 has no tag filter: DescribeTags on each). */
export async function readNlb(ctx: GcpToAwsContext): Promise<NlbState> {
  const conn = ctx.provider;
  const deployment = ctx.config.deployment;
  // NLB and target group names are unique per account and region, and ours are derived from
  // the deployment: look them up by name instead of listing (and tag-reading) every one.
  const names = resourceNames(deployment);
  const allLbs = (
    await unlessNotFound(
      'LoadBalancerNotFound',
      async () =>
        (
          await conn.call('DescribeLoadBalancers', 'load balancers', () =>
            conn.elbv2.send(new DescribeLoadBalancersCommand({ Names: [names.loadBalancer] })),
          )
        ).LoadBalancers ?? [],
    )
  ).filter((lb) => lb.Type === 'network');
  const allTgs = await unlessNotFound(
    'TargetGroupNotFound',
    async () =>
      (
        await conn.call('DescribeTargetGroups', 'target groups', () =>
          conn.elbv2.send(new DescribeTargetGroupsCommand({ Names: [names.targetGroup] })),
        )
      ).TargetGroups ?? [],
  );
  const ours = await taggedArns(
    conn,
    [...allLbs.map((lb) => lb.LoadBalancerArn!), ...allTgs.map((tg) => tg.TargetGroupArn!)],
    deployment,
  );
  const tagged = allLbs.filter((lb) => ours.has(lb.LoadBalancerArn!));
  const loadBalancers = tagged.filter((lb) => lb.State?.Code !== 'failed');
  const failedLoadBalancers = tagged.filter((lb) => lb.State?.Code === 'failed');
  const targetGroups = allTgs.filter((tg) => ours.has(tg.TargetGroupArn!));
  const lb = loadBalancers[0];
  const tg = targetGroups[0];
  let lbAttributes = {};
  let listeners: Listener[] = [];
  let listenerAttributes = {};
  let tgAttributes = {};
  if (lb) {
    const arn = lb.LoadBalancerArn!;
    lbAttributes = toRecord(
      (
        await conn.call('DescribeLoadBalancerAttributes', `load balancer ${lb.LoadBalancerName}`, () =>
          conn.elbv2.send(new DescribeLoadBalancerAttributesCommand({ LoadBalancerArn: arn })),
        )
      ).Attributes,
    );
    listeners = (
      (
        await conn.call('DescribeListeners', `listeners of ${lb.LoadBalancerName}`, () =>
          conn.elbv2.send(new DescribeListenersCommand({ LoadBalancerArn: arn })),
        )
      ).Listeners ?? []
    ).filter((l) => l.Port === 443);
    const listener = listeners[0];
    if (listener) {
      listenerAttributes = toRecord(
        (
          await conn.call('DescribeListenerAttributes', `listener ${listener.ListenerArn}`, () =>
            conn.elbv2.send(new DescribeListenerAttributesCommand({ ListenerArn: listener.ListenerArn })),
          )
        ).Attributes,
      );
    }
    ctx.facts.loadBalancerArn = arn;
    ctx.facts.loadBalancerDnsName = lb.DNSName;
    ctx.facts.listenerArn = listener?.ListenerArn;
  }
  if (tg) {
    tgAttributes = toRecord(
      (
        await conn.call('DescribeTargetGroupAttributes', `target group ${tg.TargetGroupName}`, () =>
          conn.elbv2.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: tg.TargetGroupArn })),
        )
      ).Attributes,
    );
    ctx.facts.targetGroupArn = tg.TargetGroupArn;
  }
  for (const extra of [...loadBalancers.slice(1), ...targetGroups.slice(1)]) {
    const arn = 'LoadBalancerArn' in extra ? extra.LoadBalancerArn : (extra as TargetGroup).TargetGroupArn;
    emit(
      ctx.sink,
      MSG.DUPLICATE_RESOURCE,
      ctx.clock.now(),
      `duplicate tagged resource ${arn} will be deleted`,
      {
        step: 'nlb',
        account: 'provider',
        data: { arn },
      },
    );
  }
  return {
    loadBalancers,
    failedLoadBalancers,
    lbAttributes,
    targetGroups,
    tgAttributes,
    listeners,
    listenerAttributes,
  };
}
