/**
 * IAM identity-policy evaluation, as AWS documents it (IAM User Guide, "Policy evaluation
 * logic" and "IAM JSON policy elements: Condition operators"): an explicit Deny wins, then
 * an Allow, else the implicit deny. Pure: one request in, one decision out, with the
 * statements that allowed it so a test can tell which statements some call needed.
 * Spec: fake-iam.md (section "Evaluation").
 */

/** A context key's value: multivalued keys (`aws:TagKeys`) are arrays. */
export type ContextValue = string | readonly string[];

/** One authorization AWS makes: an action on one resource ARN, in a request context. */
export interface AuthorizationRequest {
  /** `ec2:CreateVpcEndpoint` */
  readonly action: string;
  /** The full ARN, or `*` for actions without resource-level permissions. */
  readonly resource: string;
  /** Condition keys present for this action and resource (names as AWS spells them). */
  readonly context: Readonly<Record<string, ContextValue>>;
}

type OneOrMany = string | readonly string[];

export interface EvaluatedStatement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Action?: OneOrMany;
  readonly NotAction?: OneOrMany;
  readonly Resource?: OneOrMany;
  readonly NotResource?: OneOrMany;
  readonly Condition?: Readonly<Record<string, Readonly<Record<string, OneOrMany>>>>;
}

export interface EvaluatedPolicy {
  readonly Statement: readonly EvaluatedStatement[];
}

/** Which statement matched: its policy's index, its index in the policy, its Sid. */
export interface StatementRef {
  readonly policy: number;
  readonly statement: number;
  readonly sid: string | undefined;
}

export interface Decision {
  readonly decision: 'allow' | 'explicit-deny' | 'implicit-deny';
  /** Every Allow statement that matched (all of them, not only the first). */
  readonly allowedBy: readonly StatementRef[];
  /** Every Deny statement that matched. */
  readonly deniedBy: readonly StatementRef[];
}

/** A policy the evaluator cannot judge (unknown operator, misuse of a multivalued key): never an allow. */
export class PolicyEvaluationError extends Error {
  override readonly name = 'PolicyEvaluationError';
}

const list = (v: OneOrMany | undefined): readonly string[] =>
  v === undefined ? [] : typeof v === 'string' ? [v] : v;

function escapeRegex(s: string): string {
  return s.replace(/[.+^${}()|[\]\\]/g, '\\$&');
}

/** IAM wildcards: `*` any run of characters, `?` one character. */
function globToRegex(pattern: string, flags = ''): RegExp {
  const body = [...pattern].map((c) => (c === '*' ? '.*' : c === '?' ? '.' : escapeRegex(c))).join('');
  return new RegExp(`^${body}$`, flags);
}

/** Action names are case-insensitive; `ec2:*` and `ec2:Describe*` are wildcards. */
export function actionMatches(pattern: string, action: string): boolean {
  return pattern === '*' || globToRegex(pattern, 'i').test(action);
}

/**
 * ARNs match segment by segment (`arn:partition:service:region:account:resource`), the
 * first five without crossing a `:`; a lone `*` matches every resource.
 */
export function arnMatches(pattern: string, arn: string): boolean {
  if (pattern === '*') return true;
  const p = splitArn(pattern);
  const a = splitArn(arn);
  // A pattern that starts like an ARN but lacks segments matches nothing.
  if (p === undefined || a === undefined)
    return !pattern.startsWith('arn:') && globToRegex(pattern).test(arn);
  return p.every((seg, i) => globToRegex(seg).test(a[i]!));
}

function splitArn(arn: string): string[] | undefined {
  const parts = arn.split(':');
  if (parts.length < 6 || parts[0] !== 'arn') return undefined;
  return [...parts.slice(0, 5), parts.slice(5).join(':')];
}

type Matcher = (want: string, have: string) => boolean;

/** The operators the printed policies (and their tests) use; any other one is an error. */
const MATCHERS: Readonly<Record<string, { match: Matcher; negated: boolean }>> = {
  StringEquals: { match: (w, h) => w === h, negated: false },
  StringNotEquals: { match: (w, h) => w === h, negated: true },
  StringEqualsIgnoreCase: { match: (w, h) => w.toLowerCase() === h.toLowerCase(), negated: false },
  StringNotEqualsIgnoreCase: { match: (w, h) => w.toLowerCase() === h.toLowerCase(), negated: true },
  StringLike: { match: (w, h) => globToRegex(w).test(h), negated: false },
  StringNotLike: { match: (w, h) => globToRegex(w).test(h), negated: true },
  // AWS: ArnEquals and ArnLike behave the same (both take wildcards, segment by segment).
  ArnEquals: { match: arnMatches, negated: false },
  ArnLike: { match: arnMatches, negated: false },
  ArnNotEquals: { match: arnMatches, negated: true },
  ArnNotLike: { match: arnMatches, negated: true },
  Bool: { match: (w, h) => w.toLowerCase() === h.toLowerCase(), negated: false },
};

/** Context keys are case-insensitive: find the request's value for a policy's key. */
function contextValue(
  context: Readonly<Record<string, ContextValue>>,
  key: string,
): readonly string[] | undefined {
  const lower = key.toLowerCase();
  for (const [k, v] of Object.entries(context)) {
    if (k.toLowerCase() === lower) return typeof v === 'string' ? [v] : v;
  }
  return undefined;
}

function isMultivalued(context: Readonly<Record<string, ContextValue>>, key: string): boolean {
  const lower = key.toLowerCase();
  return Object.entries(context).some(([k, v]) => k.toLowerCase() === lower && typeof v !== 'string');
}

/** One `Operator: { key: values }` entry against the context. */
function conditionHolds(
  operatorName: string,
  key: string,
  wanted: readonly string[],
  context: Readonly<Record<string, ContextValue>>,
): boolean {
  const qualifier = /^(ForAllValues|ForAnyValue):/.exec(operatorName)?.[1];
  let base = qualifier ? operatorName.slice(qualifier.length + 1) : operatorName;
  const ifExists = base.endsWith('IfExists');
  if (ifExists) base = base.slice(0, -'IfExists'.length);
  const have = contextValue(context, key);
  if (base === 'Null') {
    // Null: true asks "is the key absent"; false asks "is it present".
    const absent = have === undefined || have.length === 0;
    return wanted.some((w) => (w.toLowerCase() === 'true') === absent);
  }
  const op = MATCHERS[base];
  if (op === undefined) {
    throw new PolicyEvaluationError(
      `condition operator ${operatorName} is not implemented by the IAM evaluator (key ${key}); add it to MATCHERS in test/provisioner/iam-evaluate.ts with its documented semantics`,
    );
  }
  const matchesOne = (h: string) => wanted.some((w) => op.match(w, h));
  if (have === undefined) {
    // Absent key: ...IfExists and ForAllValues hold; a negated operator holds; the rest fail.
    if (ifExists || qualifier === 'ForAllValues') return true;
    if (qualifier === 'ForAnyValue') return false;
    return op.negated;
  }
  if (qualifier === 'ForAllValues') return have.every((h) => (op.negated ? !matchesOne(h) : matchesOne(h)));
  if (qualifier === 'ForAnyValue') return have.some((h) => (op.negated ? !matchesOne(h) : matchesOne(h)));
  if (isMultivalued(context, key)) {
    throw new PolicyEvaluationError(
      `${operatorName} on the multivalued key ${key} needs ForAllValues: or ForAnyValue: (IAM User Guide, "Multivalued context keys")`,
    );
  }
  const hit = matchesOne(have[0]!);
  return op.negated ? !hit : hit;
}

function conditionsHold(statement: EvaluatedStatement, context: Readonly<Record<string, ContextValue>>) {
  for (const [operator, entries] of Object.entries(statement.Condition ?? {})) {
    for (const [key, values] of Object.entries(entries)) {
      if (!conditionHolds(operator, key, list(values), context)) return false;
    }
  }
  return true;
}

function statementApplies(statement: EvaluatedStatement, request: AuthorizationRequest): boolean {
  if ((statement.Action === undefined) === (statement.NotAction === undefined))
    throw new PolicyEvaluationError(
      `statement ${statement.Sid ?? '(no Sid)'} needs exactly one of Action and NotAction (IAM JSON policy reference)`,
    );
  if ((statement.Resource === undefined) === (statement.NotResource === undefined))
    throw new PolicyEvaluationError(
      `statement ${statement.Sid ?? '(no Sid)'} needs exactly one of Resource and NotResource (identity policies)`,
    );
  const actionHit =
    statement.Action !== undefined
      ? list(statement.Action).some((p) => actionMatches(p, request.action))
      : !list(statement.NotAction).some((p) => actionMatches(p, request.action));
  if (!actionHit) return false;
  const resourceHit =
    statement.Resource !== undefined
      ? list(statement.Resource).some((p) => arnMatches(p, request.resource))
      : !list(statement.NotResource).some((p) => arnMatches(p, request.resource));
  return resourceHit && conditionsHold(statement, request.context);
}

/** Evaluate identity policies for one authorization request. */
export function evaluate(policies: readonly EvaluatedPolicy[], request: AuthorizationRequest): Decision {
  const allowedBy: StatementRef[] = [];
  const deniedBy: StatementRef[] = [];
  policies.forEach((policy, p) =>
    policy.Statement.forEach((statement, s) => {
      if (!statementApplies(statement, request)) return;
      const ref = { policy: p, statement: s, sid: statement.Sid };
      (statement.Effect === 'Deny' ? deniedBy : allowedBy).push(ref);
    }),
  );
  const decision = deniedBy.length > 0 ? 'explicit-deny' : allowedBy.length > 0 ? 'allow' : 'implicit-deny';
  return { decision, allowedBy, deniedBy };
}
