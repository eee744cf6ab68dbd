import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  DeleteListenerCommand,
  ModifyListenerCommand,
  ModifyTargetGroupCommand,
  SetSubnetsCommand,
  type LoadBalancer,
  type TargetGroup,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { deploymentTags } from '../../aws/tags.js';
import { change, type Change, type Step } from '../../engine/step.js';
import type { IamPermission } from '../../iam/policy.js';
import { diffAttributes, ignoreGone, runOps, type Op } from '../shared/ops.js';
import { resourceNames } from './config.js';
import { onElb } from './nlb-iam.js';
import type { GcpToAwsContext } from './context.js';
import {
  GONE,
  deleteLoadBalancer,
  deleteTargetGroup,
  setLbAttributes,
  setListenerAttributes,
  setTgAttributes,
  waitActive,
} from './nlb-calls.js';
import { readNlb, type NlbState as NlbResourcesState } from './nlb-read.js';
import {
  NLB_SECURITY_GROUP_PERMISSIONS,
  deleteNlbSecurityGroup,
  loadBalancerGroupOps,
  nlbSecurityGroupOps,
  readNlbSecurityGroup,
  setLoadBalancerGroups,
  type NlbSecurityGroupState,
} from './nlb-security-group.js';
import {
  desiredHealthCheck,
  desiredLbAttributes,
  desiredListenerAttributes,
  desiredTgAttributes,
} from './nlb-settings.js';

/** The NLB resources and the NLB's own security group. */
export interface NlbState extends NlbResourcesState {
  readonly securityGroup: NlbSecurityGroupState;
}

async function readNlbStep(ctx: GcpToAwsContext): Promise<NlbState> {
  // The group first: the load balancer ops compare the NLB's groups with its id.
  const securityGroup = await readNlbSecurityGroup(ctx);
  return { ...(await readNlb(ctx)), securityGroup };
}

/** Create the NLB, or correct its subnets and attributes, or wait for it to be active. */
function loadBalancerOps(ctx: GcpToAwsContext, lb: LoadBalancer | undefined, s: NlbState): Op[] {
  const conn = ctx.provider;
  const names = resourceNames(ctx.config.deployment);
  const cfg = ctx.config.provider;
  const lbName = `load balancer ${names.loadBalancer}`;
  const ops: Op[] = [];
  const failed = s.failedLoadBalancers;
  if (!lb) {
    const replaced = failed[0];
    ops.push({
      change: replaced
        ? change('replace', lbName, failedReason(replaced))
        : change('create', lbName, 'no internal NLB tagged for this deployment'),
      run: async () => {
        // A failed NLB never recovers and holds the name: delete it before creating the new one.
        for (const f of failed) await deleteLoadBalancer(ctx, f.LoadBalancerArn!);
        const out = await conn.call('CreateLoadBalancer', lbName, () =>
          conn.elbv2.send(
            new CreateLoadBalancerCommand({
              Name: names.loadBalancer,
              Type: 'network',
              Scheme: 'internal',
              IpAddressType: 'ipv4',
              Subnets: [...cfg.subnetIds],
              // Only at creation: an NLB created without a security group can never get one.
              SecurityGroups: [ctx.facts.nlbSecurityGroupId!],
              Tags: deploymentTags(ctx.config.deployment, names.loadBalancer),
            }),
          ),
        );
        const created = out.LoadBalancers![0]!;
        ctx.facts.loadBalancerArn = created.LoadBalancerArn;
        ctx.facts.loadBalancerDnsName = created.DNSName;
        await waitActive(ctx, created.LoadBalancerArn!, names.loadBalancer);
        await setLoadBalancerGroups(ctx, created.LoadBalancerArn!);
        await setLbAttributes(ctx, created.LoadBalancerArn!, desiredLbAttributes());
      },
    });
  } else {
    for (const f of failed) {
      ops.push({
        change: change('delete', `load balancer ${f.LoadBalancerArn}`, failedReason(f)),
        run: () => deleteLoadBalancer(ctx, f.LoadBalancerArn!),
      });
    }
    const before = ops.length;
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
    ops.push(...loadBalancerGroupOps(ctx, lb));
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
    if (ops.length === before) ops.push({ change: change('none', lbName, 'exists, matches config') });
  }
  return ops;
}

function failedReason(lb: LoadBalancer): string {
  return `it failed: ${lb.State?.Reason ?? 'no reason given'}`;
}

/** Create the TCP 443 target group, or correct its health check and attributes. */
function targetGroupOps(ctx: GcpToAwsContext, tg: TargetGroup | undefined, s: NlbState): Op[] {
  const conn = ctx.provider;
  const names = resourceNames(ctx.config.deployment);
  const cfg = ctx.config.provider;
  const tgName = `target group ${names.targetGroup}`;
  if (!tg) {
    return [
      {
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
                Tags: deploymentTags(ctx.config.deployment, names.targetGroup),
              }),
            ),
          );
          const arn = out.TargetGroups![0]!.TargetGroupArn!;
          ctx.facts.targetGroupArn = arn;
          await setTgAttributes(ctx, arn, desiredTgAttributes(ctx));
        },
      },
    ];
  }
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
  return tgOps.length > 0 ? tgOps : [{ change: change('none', tgName, 'exists, matches config') }];
}

/** Create the TCP 443 listener, or point it back at the target group and correct its idle timeout. */
function listenerOps(ctx: GcpToAwsContext, tg: TargetGroup | undefined, s: NlbState): Op[] {
  const conn = ctx.provider;
  const names = resourceNames(ctx.config.deployment);
  const cfg = ctx.config.provider;
  const listener = s.listeners[0];
  const listenerName = `listener ${names.loadBalancer}:443`;
  if (!listener) {
    return [
      {
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
                Tags: deploymentTags(ctx.config.deployment),
              }),
            ),
          );
          const arn = out.Listeners![0]!.ListenerArn!;
          ctx.facts.listenerArn = arn;
          await setListenerAttributes(ctx, arn, desiredListenerAttributes(ctx));
        },
      },
    ];
  }
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
  return lOps.length > 0 ? lOps : [{ change: change('none', listenerName, 'exists, matches config') }];
}

/** Delete extra resources carrying this deployment's tags (left by a create AWS answered twice). */
function duplicateOps(ctx: GcpToAwsContext, s: NlbState): Op[] {
  const ops: Op[] = [];
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

function nlbOps(ctx: GcpToAwsContext, s: NlbState): Op[] {
  const tg = s.targetGroups[0];
  return [
    ...nlbSecurityGroupOps(ctx, s.securityGroup),
    ...loadBalancerOps(ctx, s.loadBalancers[0], s),
    ...targetGroupOps(ctx, tg, s),
    ...listenerOps(ctx, tg, s),
    ...duplicateOps(ctx, s),
  ];
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
  // ELBv2 ARNs carry the names, so every grant below is held to ekslink's names (the
  // deployment's own with --config) as well as to the managed-by tag. CreateListener
  // authorizes the load balancer it is added to (Service Authorization Reference).
  // Internal only: the role cannot put an internet-facing load balancer in front of the proxies.
  {
    why: 'create the internal NLB with the managed-by tag',
    actions: ['elasticloadbalancing:CreateLoadBalancer'],
    ...onElb(['loadBalancer']),
    tagCondition: 'request',
    condition: { StringEquals: { 'elasticloadbalancing:Scheme': 'internal' } },
  },
  {
    why: 'add the listener to the NLB, with the managed-by tag',
    actions: ['elasticloadbalancing:CreateListener'],
    ...onElb(['loadBalancer']),
    tagCondition: 'request',
  },
  {
    why: 'create the target group with the managed-by tag',
    actions: ['elasticloadbalancing:CreateTargetGroup'],
    ...onElb(['targetGroup']),
    tagCondition: 'request',
  },
  // Tags only as part of those creates: AddTags alone could put the managed-by tag on any
  // load balancer and so hand it to the grants below.
  {
    why: 'tag the NLB, target group and listener in their create calls',
    actions: ['elasticloadbalancing:AddTags'],
    ...onElb(['loadBalancer', 'targetGroup', 'listener']),
    tagCondition: 'request',
    condition: {
      StringEquals: {
        'elasticloadbalancing:CreateAction': ['CreateLoadBalancer', 'CreateTargetGroup', 'CreateListener'],
      },
    },
  },
  {
    why: 'change and delete only the NLB carrying the managed-by tag',
    actions: [
      'elasticloadbalancing:ModifyLoadBalancerAttributes',
      'elasticloadbalancing:SetSubnets',
      'elasticloadbalancing:DeleteLoadBalancer',
    ],
    ...onElb(['loadBalancer']),
    tagCondition: 'resource',
  },
  {
    why: 'change and delete only the target group carrying the managed-by tag',
    actions: [
      'elasticloadbalancing:ModifyTargetGroup',
      'elasticloadbalancing:ModifyTargetGroupAttributes',
      'elasticloadbalancing:DeleteTargetGroup',
    ],
    ...onElb(['targetGroup']),
    tagCondition: 'resource',
  },
  {
    why: 'change and delete only the listener carrying the managed-by tag',
    actions: [
      'elasticloadbalancing:ModifyListener',
      'elasticloadbalancing:ModifyListenerAttributes',
      'elasticloadbalancing:DeleteListener',
    ],
    ...onElb(['listener']),
    tagCondition: 'resource',
  },
  ...NLB_SECURITY_GROUP_PERMISSIONS,
];

/** Step 1, provider: internal NLB (cross-zone), TCP 443 target group, TCP 443 listener. */
export const nlbStep: Step<GcpToAwsContext, NlbState> = {
  id: 'nlb',
  title: 'provider: internal NLB with its security group, TCP 443 target group, TCP 443 listener',
  account: 'provider',
  permissions: NLB_PERMISSIONS,
  read: readNlbStep,
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
    // Failed NLBs too: they carry our tags and would otherwise be left behind.
    for (const lb of [...current.loadBalancers, ...current.failedLoadBalancers]) {
      await deleteLoadBalancer(ctx, lb.LoadBalancerArn!);
      done.push(change('delete', `load balancer ${lb.LoadBalancerName}`, 'destroy'));
    }
    for (const tg of current.targetGroups) {
      await deleteTargetGroup(ctx, tg.TargetGroupArn!);
      done.push(change('delete', `target group ${tg.TargetGroupName}`, 'destroy'));
    }
    for (const sg of current.securityGroup.groups) {
      await deleteNlbSecurityGroup(ctx, sg.GroupId!);
      done.push(change('delete', `security group ${sg.GroupId}`, 'destroy'));
    }
    ctx.facts.nlbSecurityGroupId = undefined;
    return done;
  },
};
