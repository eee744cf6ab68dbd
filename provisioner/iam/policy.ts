import { inPartition, type Partition } from '../aws/partition.js';
import { MANAGED_BY_KEY, MANAGED_BY_VALUE } from '../aws/tags.js';
import type { IamPermission, PolicyScope } from '../engine/permission.js';

// Declared in the engine (a step carries its permissions); re-exported for the topologies.
export type { IamPermission, PolicyScope } from '../engine/permission.js';

/** `arn:aws:ec2:*:*:vpc/*` -> `arn:aws:ec2:eu-west-1:222222222222:vpc/*`; global ARNs (Route 53) unchanged. */
export function placeArn(arn: string, scope: Pick<PolicyScope, 'region' | 'accountId'>): string {
  return arn.replace(/^arn:aws:([a-z0-9-]+):\*:\*:/, `arn:aws:$1:${scope.region}:${scope.accountId}:`);
}

export interface PolicyStatement {
  readonly Sid: string;
  readonly Effect: 'Allow';
  readonly Action: string[];
  readonly Resource: string[];
  readonly Condition?: Record<string, Record<string, string | string[]>>;
}

export interface PolicyDocument {
  readonly Version: '2012-10-17';
  readonly Statement: PolicyStatement[];
}

function conditionFor(p: IamPermission): PolicyStatement['Condition'] {
  const out: Record<string, Record<string, string | string[]>> = {};
  if (p.tagCondition === 'request')
    out.StringEquals = { [`aws:RequestTag/${MANAGED_BY_KEY}`]: MANAGED_BY_VALUE };
  if (p.tagCondition === 'resource')
    out.StringEquals = { [`aws:ResourceTag/${MANAGED_BY_KEY}`]: MANAGED_BY_VALUE };
  for (const [op, kv] of Object.entries(p.condition ?? {})) {
    out[op] = {
      ...out[op],
      ...Object.fromEntries(Object.entries(kv).map(([k, v]) => [k, typeof v === 'string' ? v : [...v]])),
    };
  }
  return Object.keys(out).length === 0 ? undefined : out;
}

function sidOf(text: string): string {
  const words = text
    .replace(/[^A-Za-z0-9 ]/g, ' ')
    .split(/\s+/)
    .filter(Boolean);
  return words
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join('')
    .slice(0, 100);
}

/**
 * One policy from many declarations: declarations with the same resources and condition
 * merge into one statement; actions are sorted and unique so the output is stable.
 */
export function buildPolicy(
  permissions: readonly IamPermission[],
  partition: Partition = 'aws',
  scope?: PolicyScope,
): PolicyDocument {
  const groups = new Map<
    string,
    { why: string[]; actions: Set<string>; resources: string[]; condition: PolicyStatement['Condition'] }
  >();
  for (const declared of permissions) {
    const narrowed = scope === undefined ? {} : (declared.scoped?.(scope) ?? {});
    const p: IamPermission = {
      ...declared,
      resources:
        narrowed.resources ??
        (scope === undefined ? declared.resources : declared.resources.map((r) => placeArn(r, scope))),
      ...(narrowed.condition ? { condition: narrowed.condition } : {}),
    };
    // Scoped to nothing: the configured deployment never makes these calls.
    if (p.resources.length === 0) continue;
    const condition = conditionFor(p);
    const resources = [...new Set(p.resources.map((r) => inPartition(r, partition)))].sort();
    const key = JSON.stringify([resources, condition]);
    const group = groups.get(key) ?? {
      why: [],
      actions: new Set<string>(),
      resources,
      condition,
    };
    if (!group.why.includes(p.why)) group.why.push(p.why);
    p.actions.forEach((a) => group.actions.add(a));
    groups.set(key, group);
  }
  const used = new Set<string>();
  const Statement = [...groups.values()].map((g) => {
    let sid = sidOf(g.why[0]!);
    for (let i = 2; used.has(sid); i++) sid = `${sidOf(g.why[0]!)}${i}`;
    used.add(sid);
    return {
      Sid: sid,
      Effect: 'Allow' as const,
      Action: [...g.actions].sort(),
      Resource: g.resources,
      ...(g.condition ? { Condition: g.condition } : {}),
    };
  });
  return { Version: '2012-10-17', Statement };
}

/** Every action the policy allows (no wildcards are emitted, so this is exact). */
export function allowedActions(policy: PolicyDocument): Set<string> {
  return new Set(policy.Statement.flatMap((s) => s.Action));
}
