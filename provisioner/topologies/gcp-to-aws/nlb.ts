import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  DeleteListenerCommand,
  DeleteLoadBalancerCommand,
  DeleteTargetGroupCommand,
  DescribeListenerAttributesCommand,
  DescribeListenersCommand,
  DescribeLoadBalancerAttributesCommand,
  DescribeLoadBalancersCommand,
  DescribeTagsCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand,
  ModifyListenerAttributesCommand,
  ModifyListenerCommand,
  ModifyLoadBalancerAttributesCommand,
  ModifyTargetGroupAttributesCommand,
  ModifyTargetGroupCommand,
  SetSubnetsCommand,
  type Listener,
  type LoadBalancer,
  type TargetGroup,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { ProvisionError } from '../../errors.js';
import type { AccountConnection } from '../../aws/account.js';
import { deploymentTags, isDeploymentResource } from '../../aws/tags.js';
import { MSG } from '../../engine/messages.js';
import { emit } from '../../engine/output.js';
import { change, type Change, type Step } from '../../engine/step.js';
import { waitFor } from '../../engine/waiter.js';
import type { IamPermission } from '../../iam/policy.js';
import { resourceNames } from './config.js';
import type { GcpToAwsContext } from './context.js';
import { ignoreGone } from './aws-helpers.js';
import { diffAttributes, runOps, type Op } from './ops.js';

export interface NlbState {
  readonly loadBalancers: readonly LoadBalancer[];
  readonly lbAttributes: Readonly<Record<string, string>>;
  readonly targetGroups: readonly TargetGroup[];
  readonly tgAttributes: Readonly<Record<string, string>>;
  readonly listeners: readonly Listener[];
  readonly listenerAttributes: Readonly<Record<string, string>>;
}

const GONE = ['LoadBalancerNotFound', 'TargetGroupNotFound', 'ListenerNotFound'];

function desiredLbAttributes(): Record<string, string> {
  return { 'load_balancing.cross_zone.enabled': 'true' };
}

function desiredTgAttributes(ctx: GcpToAwsContext): Record<string, string> {
  const nlb = ctx.config.provider.nlb;
  return {
    'deregistration_delay.timeout_seconds': String(nlb.deregistrationDelaySec),
    'deregistration_delay.connection_termination.enabled': String(nlb.connectionTermination),
    'proxy_protocol_v2.enabled': String(nlb.proxyProtocolV2),
  };
}

function desiredListenerAttributes(ctx: GcpToAwsContext): Record<string, string> {
  return { 'tcp.idle_timeout.seconds': String(ctx.config.provider.nlb.idleTimeoutSec) };
}

function desiredHealthCheck(ctx: GcpToAwsContext) {
  const nlb = ctx.config.provider.nlb;
  return {
    HealthCheckProtocol: 'HTTP' as const,
    HealthCheckPort: String(nlb.proxyHealthPort),
    HealthCheckPath: nlb.healthCheckPath,
    HealthCheckIntervalSeconds: 10,
    HealthyThresholdCount: 3,
    UnhealthyThresholdCount: 3,
  };
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

async function listAll<T>(
  fetch: (marker: string | undefined) => Promise<{ items: T[]; next: string | undefined }>,
): Promise<T[]> {
  const all: T[] = [];
  let marker: string | undefined;
  for (let page = 0; page < 100; page++) {
    const { items, next } = await fetch(marker);
    all.push(...items);
    if (!next) break;
    marker = next;
  }
  return all;
}

export async function readNlb(ctx: GcpToAwsContext): Promise<NlbState> {
  const conn = ctx.provider;
  const deployment = ctx.config.deployment;
  const allLbs = await listAll((Marker) =>
    conn
      .call('DescribeLoadBalancers', 'load balancers', () =>
        conn.elbv2.send(new DescribeLoadBalancersCommand({ Marker })),
      )
      .then((o) => ({
        items: (o.LoadBalancers ?? []).filter((lb) => lb.Type === 'network'),
        next: o.NextMarker,
      })),
  );
  const allTgs = await listAll((Marker) =>
    conn
      .call('DescribeTargetGroups', 'target groups', () =>
        conn.elbv2.send(new DescribeTargetGroupsCommand({ Marker })),
      )
      .then((o) => ({ items: o.TargetGroups ?? [], next: o.NextMarker })),
  );
  const ours = await taggedArns(
    conn,
    [...allLbs.map((lb) => lb.LoadBalancerArn!), ...allTgs.map((tg) => tg.TargetGroupArn!)],
    deployment,
  );
  const loadBalancers = allLbs.filter((lb) => ours.has(lb.LoadBalancerArn!) && lb.State?.Code !== 'failed');
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
  return { loadBalancers, lbAttributes, targetGroups, tgAttributes, listeners, listenerAttributes };
}

async function waitActive(ctx: GcpToAwsContext, arn: string, name: string): Promise<void> {
  const conn = ctx.provider;
  await waitFor(
    `load balancer ${name}`,
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
          'EKL_PROVISION_WAIT_TIMEOUT',
          `load balancer ${name} failed: ${state.Reason ?? 'no reason given'}`,
        );
      }
      return state?.Code === 'active'
        ? { done: true, value: undefined }
        : { done: false, state: state?.Code ?? 'unknown' };
    },
    {
      clock: ctx.clock,
      timeoutMs: ctx.config.timeouts.nlbActiveSec * 1000,
      intervalMs: ctx.pollIntervalMs,
      onPoll: (state) =>
        emit(ctx.sink, MSG.WAITING, ctx.clock.now(), `load balancer ${name}: ${state}`, {
          step: 'nlb',
          account: 'provider',
        }),
    },
  );
}

function nlbOps(ctx: GcpToAwsContext, s: NlbState): Op[] {
  const conn = ctx.provider;
  const names = resourceNames(ctx.config.deployment);
  const deployment = ctx.config.deployment;
  const cfg = ctx.config.provider;
  const ops: Op[] = [];
  const lb = s.loadBalancers[0];
  const tg = s.targetGroups[0];
  const lbName = `load balancer ${names.loadBalancer}`;
  const tgName = `target group ${names.targetGroup}`;

  if (!lb) {
    ops.push({
      change: change('create', lbName, 'no internal NLB tagged for this deployment'),
      run: async () => {
        const out = await conn.call('CreateLoadBalancer', lbName, () =>
          conn.elbv2.send(
            new CreateLoadBalancerCommand({
              Name: names.loadBalancer,
              Type: 'network',
              Scheme: 'internal',
              IpAddressType: 'ipv4',
              Subnets: [...cfg.subnetIds],
              Tags: deploymentTags(deployment, names.loadBalancer),
            }),
          ),
        );
        const created = out.LoadBalancers![0]!;
        ctx.facts.loadBalancerArn = created.LoadBalancerArn;
        ctx.facts.loadBalancerDnsName = created.DNSName;
        await waitActive(ctx, created.LoadBalancerArn!, names.loadBalancer);
        await setLbAttributes(ctx, created.LoadBalancerArn!, desiredLbAttributes());
      },
    });
  } else {
    const subnets = (lb.AvailabilityZones ?? []).map((az) => az.SubnetId!).sort();
    const wantSubnets = [...cfg.subnetIds].sort();
    if (subnets.join() !== wantSubnets.join()) {
      ops.push({
        change: change('update', lbName, `subnets ${subnets.join(',')} -> ${wantSubnets.join(',')}`),
        run: async () => {
          await conn.call('SetSubnets', lbName, () =>
            conn.elbv2.send(
              new SetSubnetsCommand({ LoadBalancerArn: lb.LoadBalancerArn, Subnets: wantSubnets }),
            ),
          );
        },
      });
    }
    const drift = diffAttributes(s.lbAttributes, desiredLbAttributes());
    if (drift.length > 0) {
      ops.push({
        change: change('update', lbName, drift.map((d) => d.text).join('; ')),
        run: () =>
          setLbAttributes(ctx, lb.LoadBalancerArn!, Object.fromEntries(drift.map((d) => [d.key, d.want]))),
      });
    }
    if (lb.State?.Code !== 'active') {
      ops.push({
        change: change('update', lbName, `state is ${lb.State?.Code ?? 'unknown'}: wait until active`),
        run: () => waitActive(ctx, lb.LoadBalancerArn!, names.loadBalancer),
      });
    }
    if (ops.length === 0) ops.push({ change: change('none', lbName, 'exists, matches config') });
  }

  if (!tg) {
    ops.push({
      change: change(
        'create',
        tgName,
        `TCP 443, instance targets, HTTP health check on :${cfg.nlb.proxyHealthPort}${cfg.nlb.healthCheckPath}`,
      ),
      run: async () => {
        const out = await conn.call('CreateTargetGroup', tgName, () =>
          conn.elbv2.send(
            new CreateTargetGroupCommand({
              Name: names.targetGroup,
              Protocol: 'TCP',
              Port: 443,
              VpcId: cfg.vpcId,
              TargetType: 'instance',
              ...desiredHealthCheck(ctx),
              Tags: deploymentTags(deployment, names.targetGroup),
            }),
          ),
        );
        const arn = out.TargetGroups![0]!.TargetGroupArn!;
        ctx.facts.targetGroupArn = arn;
        await setTgAttributes(ctx, arn, desiredTgAttributes(ctx));
      },
    });
  } else {
    const tgOps: Op[] = [];
    const hc = desiredHealthCheck(ctx);
    const hcDrift = (Object.keys(hc) as (keyof typeof hc)[]).filter((k) => String(tg[k]) !== String(hc[k]));
    if (hcDrift.length > 0) {
      tgOps.push({
        change: change(
          'update',
          tgName,
          hcDrift.map((k) => `${k} ${String(tg[k])} -> ${String(hc[k])}`).join('; '),
        ),
        run: async () => {
          await conn.call('ModifyTargetGroup', tgName, () =>
            conn.elbv2.send(new ModifyTargetGroupCommand({ TargetGroupArn: tg.TargetGroupArn, ...hc })),
          );
        },
      });
    }
    const drift = diffAttributes(s.tgAttributes, desiredTgAttributes(ctx));
    if (drift.length > 0) {
      tgOps.push({
        change: change('update', tgName, drift.map((d) => d.text).join('; ')),
        run: () =>
          setTgAttributes(ctx, tg.TargetGroupArn!, Object.fromEntries(drift.map((d) => [d.key, d.want]))),
      });
    }
    ops.push(...(tgOps.length > 0 ? tgOps : [{ change: change('none', tgName, 'exists, matches config') }]));
  }

  const listener = s.listeners[0];
  const listenerName = `listener ${names.loadBalancer}:443`;
  if (!listener) {
    ops.push({
      change: change(
        'create',
        listenerName,
        `TCP 443 -> ${names.targetGroup}, idle timeout ${cfg.nlb.idleTimeoutSec}s`,
      ),
      run: async () => {
        const out = await conn.call('CreateListener', listenerName, () =>
          conn.elbv2.send(
            new CreateListenerCommand({
              LoadBalancerArn: ctx.facts.loadBalancerArn,
              Protocol: 'TCP',
              Port: 443,
              DefaultActions: [{ Type: 'forward', TargetGroupArn: ctx.facts.targetGroupArn }],
              Tags: deploymentTags(deployment),
            }),
          ),
        );
        const arn = out.Listeners![0]!.ListenerArn!;
        ctx.facts.listenerArn = arn;
        await setListenerAttributes(ctx, arn, desiredListenerAttributes(ctx));
      },
    });
  } else {
    const lOps: Op[] = [];
    const forwardsTo = listener.DefaultActions?.[0]?.TargetGroupArn;
    if (listener.Protocol !== 'TCP' || forwardsTo !== ctx.facts.targetGroupArn || tg === undefined) {
      lOps.push({
        change: change(
          'update',
          listenerName,
          `forwards ${listener.Protocol} to ${forwardsTo ?? 'nothing'}, want TCP to ${names.targetGroup}`,
        ),
        run: async () => {
          await conn.call('ModifyListener', listenerName, () =>
            conn.elbv2.send(
              new ModifyListenerCommand({
                ListenerArn: listener.ListenerArn,
                Protocol: 'TCP',
                DefaultActions: [{ Type: 'forward', TargetGroupArn: ctx.facts.targetGroupArn }],
              }),
            ),
          );
        },
      });
    }
    const drift = diffAttributes(s.listenerAttributes, desiredListenerAttributes(ctx));
    if (drift.length > 0) {
      lOps.push({
        change: change('update', listenerName, drift.map((d) => d.text).join('; ')),
        run: () =>
          setListenerAttributes(
            ctx,
            listener.ListenerArn!,
            Object.fromEntries(drift.map((d) => [d.key, d.want])),
          ),
      });
    }
    ops.push(
      ...(lOps.length > 0 ? lOps : [{ change: change('none', listenerName, 'exists, matches config') }]),
    );
  }

  for (const extra of s.loadBalancers.slice(1)) {
    ops.push({
      change: change(
        'delete',
        `load balancer ${extra.LoadBalancerArn}`,
        "duplicate carrying this deployment's tags",
      ),
      run: () => deleteLoadBalancer(ctx, extra.LoadBalancerArn!),
    });
  }
  for (const extra of s.targetGroups.slice(1)) {
    ops.push({
      change: change(
        'delete',
        `target group ${extra.TargetGroupArn}`,
        "duplicate carrying this deployment's tags",
      ),
      run: () => deleteTargetGroup(ctx, extra.TargetGroupArn!),
    });
  }
  return ops;
}

async function setLbAttributes(
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

async function setTgAttributes(
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

async function setListenerAttributes(
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

async function deleteLoadBalancer(ctx: GcpToAwsContext, arn: string): Promise<void> {
  await ignoreGone(GONE, () =>
    ctx.provider.call('DeleteLoadBalancer', `load balancer ${arn}`, () =>
      ctx.provider.elbv2.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: arn })),
    ),
  );
}

async function deleteTargetGroup(ctx: GcpToAwsContext, arn: string): Promise<void> {
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

export const NLB_PERMISSIONS: readonly IamPermission[] = [
  {
    why: 'find the NLB, target group and listener by tags and read their settings',
    actions: [
      'elasticloadbalancing:DescribeLoadBalancers',
      'elasticloadbalancing:DescribeTargetGroups',
      'elasticloadbalancing:DescribeListeners',
      'elasticloadbalancing:DescribeTags',
      'elasticloadbalancing:DescribeLoadBalancerAttributes',
      'elasticloadbalancing:DescribeTargetGroupAttributes',
      'elasticloadbalancing:DescribeListenerAttributes',
    ],
    resources: ['*'],
    tagCondition: 'none',
  },
  {
    why: 'create the NLB, target group and listener with the managed-by tag',
    actions: [
      'elasticloadbalancing:CreateLoadBalancer',
      'elasticloadbalancing:CreateTargetGroup',
      'elasticloadbalancing:CreateListener',
      'elasticloadbalancing:AddTags',
    ],
    resources: ['*'],
    tagCondition: 'request',
  },
  {
    why: 'change and delete only the NLB resources carrying the managed-by tag',
    actions: [
      'elasticloadbalancing:ModifyLoadBalancerAttributes',
      'elasticloadbalancing:SetSubnets',
      'elasticloadbalancing:ModifyTargetGroup',
      'elasticloadbalancing:ModifyTargetGroupAttributes',
      'elasticloadbalancing:ModifyListener',
      'elasticloadbalancing:ModifyListenerAttributes',
      'elasticloadbalancing:DeleteListener',
      'elasticloadbalancing:DeleteLoadBalancer',
      'elasticloadbalancing:DeleteTargetGroup',
    ],
    resources: ['*'],
    tagCondition: 'resource',
  },
];

/** Step 1, provider: internal NLB (cross-zone), TCP 443 target group, TCP 443 listener. */
export const nlbStep: Step<GcpToAwsContext, NlbState> = {
  id: 'nlb',
  title: 'provider: internal NLB, TCP 443 target group, TCP 443 listener',
  account: 'provider',
  permissions: NLB_PERMISSIONS,
  read: readNlb,
  plan: (ctx, current): readonly Change[] => nlbOps(ctx, current).map((op) => op.change),
  apply: (ctx, current) => runOps(ctx, 'nlb', 'provider', nlbOps(ctx, current)),
  async destroy(ctx, current) {
    const done: Change[] = [];
    for (const listener of current.listeners) {
      await ignoreGone(GONE, () =>
        ctx.provider.call('DeleteListener', `listener ${listener.ListenerArn}`, () =>
          ctx.provider.elbv2.send(new DeleteListenerCommand({ ListenerArn: listener.ListenerArn })),
        ),
      );
      done.push(change('delete', `listener ${listener.ListenerArn}`, 'destroy'));
    }
    for (const lb of current.loadBalancers) {
      await deleteLoadBalancer(ctx, lb.LoadBalancerArn!);
      done.push(change('delete', `load balancer ${lb.LoadBalancerName}`, 'destroy'));
    }
    for (const tg of current.targetGroups) {
      await deleteTargetGroup(ctx, tg.TargetGroupArn!);
      done.push(change('delete', `target group ${tg.TargetGroupName}`, 'destroy'));
    }
    return done;
  },
};
