/** Step nlb (provider): the internal NLB with its own security group, its target group and listener; duplicates deleted. */
import {
  CreateLoadBalancerCommand,
  DeleteListenerCommand,
  SetSubnetsCommand,
  type LoadBalancer,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { deploymentTags } from '../../aws/tags.js';
import { change, type Change, type Step } from '../../engine/step.js';
import { diffAttributes, ignoreGone, runOps, type Op } from '../shared/ops.js';
import { resourceNames } from './config.js';
import type { GcpToAwsContext } from './context.js';
import { GONE, deleteLoadBalancer, deleteTargetGroup, setLbAttributes, waitActive } from './nlb-calls.js';
import { readNlb, type NlbState as NlbResourcesState } from './nlb-read.js';
import {
  deleteNlbSecurityGroup,
  loadBalancerGroupOps,
  nlbSecurityGroupOps,
  readNlbSecurityGroup,
  setLoadBalancerGroups,
  type NlbSecurityGroupState,
} from './nlb-security-group.js';
import { desiredLbAttributes } from './nlb-settings.js';

import { listenerOps, targetGroupOps } from './nlb-target-listener.js';
import { NLB_PERMISSIONS } from './nlb-permissions.js';
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

/** Delete extra resources carrying this deployment's tags (left by a create AWS answered twice). */
function duplicateOps(ctx: GcpToAwsContext, s: NlbState): Op[] {
  const extra = (kind: string, arn: string, del: (c: GcpToAwsContext, arn: string) => Promise<void>): Op => ({
    change: change('delete', `${kind} ${arn}`, "duplicate carrying this deployment's tags"),
    run: () => del(ctx, arn),
  });
  return [
    ...s.loadBalancers.slice(1).map((lb) => extra('load balancer', lb.LoadBalancerArn!, deleteLoadBalancer)),
    ...s.targetGroups.slice(1).map((tg) => extra('target group', tg.TargetGroupArn!, deleteTargetGroup)),
  ];
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
