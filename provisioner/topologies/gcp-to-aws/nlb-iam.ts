/**
 * The ELBv2 resources of the provider policy, by name: the NLB and target group are
 * `ekl-<deployment>` (config.ts resourceNames), so their ARNs, and the listener's, which
 * embeds the NLB's name, can be written before they exist. Without a config the pattern is
 * every ekslink name (`ekl-*`); with `--config` it is the deployment's own name.
 */
import type { IamPermission, PolicyScope } from '../../iam/policy.js';
import { resourceNames, type GcpToAwsConfig } from './config.js';

type Kind = 'loadBalancer' | 'targetGroup' | 'listener';

/** `arn:aws:elasticloadbalancing:<region>:<account>:loadbalancer/net/<name>/*` and its kin. */
function arnFor(kind: Kind, name: string, region = '*', account = '*'): string {
  const resource =
    kind === 'loadBalancer'
      ? `loadbalancer/net/${name}/*`
      : kind === 'targetGroup'
        ? `targetgroup/${name}/*`
        : `listener/net/${name}/*`;
  return `arn:aws:elasticloadbalancing:${region}:${account}:${resource}`;
}

/** The ARN patterns of one kind: every ekslink name, or the configured deployment's. */
export function elbArns(kind: Kind, scope?: PolicyScope): string[] {
  if (scope === undefined) return [arnFor(kind, 'ekl-*')];
  const names = resourceNames((scope.config as GcpToAwsConfig).deployment);
  const name = kind === 'targetGroup' ? names.targetGroup : names.loadBalancer;
  return [arnFor(kind, name, scope.region, scope.accountId)];
}

/** Resources of `kinds`, scoped to the deployment's names under `--config`. */
export function onElb(kinds: readonly Kind[]): Pick<IamPermission, 'resources' | 'scoped'> {
  return {
    resources: kinds.flatMap((k) => elbArns(k)),
    scoped: (scope) => ({ resources: kinds.flatMap((k) => elbArns(k, scope)) }),
  };
}
