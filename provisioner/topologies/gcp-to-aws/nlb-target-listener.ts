/** Step nlb: the TCP 443 target group and listener, created or corrected to the config. */
import {
  CreateListenerCommand,
  CreateTargetGroupCommand,
  ModifyListenerCommand,
  ModifyTargetGroupCommand,
  type TargetGroup,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { deploymentTags } from '../../aws/tags.js';
import { change } from '../../engine/step.js';
import { diffAttributes, type Op } from '../shared/ops.js';
import { resourceNames } from './config.js';
import type { GcpToAwsContext } from './context.js';
import { setListenerAttributes, setTgAttributes } from './nlb-calls.js';
import { desiredHealthCheck, desiredListenerAttributes, desiredTgAttributes } from './nlb-settings.js';

import type { NlbState } from './nlb-read.js';

/** Create the TCP 443 target group, or correct its health check and attributes. */
export function targetGroupOps(ctx: GcpToAwsContext, tg: TargetGroup | undefined, s: NlbState): Op[] {
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
export function listenerOps(ctx: GcpToAwsContext, tg: TargetGroup | undefined, s: NlbState): Op[] {
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
