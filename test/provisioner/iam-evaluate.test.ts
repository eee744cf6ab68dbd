/** The IAM evaluator's own tests: evaluation order, wildcards, ARNs, condition operators (fake-iam.md, "Evaluation"). */
import { describe, expect, test } from 'vitest';
import {
  PolicyEvaluationError,
  actionMatches,
  arnMatches,
  evaluate,
  type AuthorizationRequest,
  type EvaluatedPolicy,
  type EvaluatedStatement,
} from './iam-evaluate.js';

const SG = 'arn:aws:ec2:us-east-1:111111111111:security-group/sg-0123';
const req = (over: Partial<AuthorizationRequest> = {}): AuthorizationRequest => ({
  action: 'ec2:DeleteSecurityGroup',
  resource: SG,
  context: {},
  ...over,
});
const policy = (...Statement: EvaluatedStatement[]): EvaluatedPolicy => ({ Statement });
const allow = (s: Partial<EvaluatedStatement> = {}): EvaluatedStatement => ({
  Sid: 'A',
  Effect: 'Allow',
  Action: 'ec2:DeleteSecurityGroup',
  Resource: '*',
  ...s,
});

describe('evaluation order', () => {
  test('nothing matches: implicit deny', () => {
    expect(evaluate([policy(allow({ Action: 'ec2:CreateVpc' }))], req()).decision).toBe('implicit-deny');
    expect(evaluate([], req()).decision).toBe('implicit-deny');
  });

  test('an allow allows, and every matching allow is reported', () => {
    const d = evaluate([policy(allow({ Sid: 'One' }), allow({ Sid: 'Two', Action: 'ec2:*' }))], req());
    expect(d.decision).toBe('allow');
    expect(d.allowedBy.map((r) => r.sid)).toEqual(['One', 'Two']);
  });

  test('an explicit deny beats any allow, in any policy', () => {
    const d = evaluate(
      [policy(allow()), policy({ Sid: 'No', Effect: 'Deny', Action: 'ec2:Delete*', Resource: '*' })],
      req(),
    );
    expect(d.decision).toBe('explicit-deny');
    expect(d.deniedBy.map((r) => r.sid)).toEqual(['No']);
  });

  test('NotAction and NotResource invert the match', () => {
    expect(evaluate([policy(allow({ Action: undefined, NotAction: 'ec2:Create*' }))], req()).decision).toBe(
      'allow',
    );
    expect(evaluate([policy(allow({ Action: undefined, NotAction: 'ec2:Delete*' }))], req()).decision).toBe(
      'implicit-deny',
    );
    expect(evaluate([policy(allow({ Resource: undefined, NotResource: SG }))], req()).decision).toBe(
      'implicit-deny',
    );
  });

  test('a statement with neither Action nor NotAction is refused, never an allow', () => {
    expect(() => evaluate([policy(allow({ Action: undefined }))], req())).toThrow(PolicyEvaluationError);
  });
});

describe('wildcards', () => {
  test('actions: case-insensitive, * and ?', () => {
    expect(actionMatches('ec2:describe*', 'ec2:DescribeVpcs')).toBe(true);
    expect(actionMatches('ec2:Describe?pcs', 'ec2:DescribeVpcs')).toBe(true);
    expect(actionMatches('ec2:Describe*', 'elasticloadbalancing:DescribeTags')).toBe(false);
    expect(actionMatches('*', 'sts:AssumeRole')).toBe(true);
  });

  test('ARNs: segment by segment; * in a segment does not cross a colon; the resource part may hold / and :', () => {
    expect(arnMatches('arn:aws:ec2:*:*:security-group/*', SG)).toBe(true);
    expect(arnMatches('arn:aws:ec2:us-east-1:222222222222:security-group/*', SG)).toBe(false);
    expect(arnMatches('arn:aws:ec2:us-*:*:security-group/sg-0123', SG)).toBe(true);
    expect(arnMatches('arn:aws:ec2:*:security-group/*', SG)).toBe(false);
    const listener = 'arn:aws:elasticloadbalancing:us-east-1:1:listener/net/ekl-acme/50dc/f0c1';
    expect(arnMatches('arn:aws:elasticloadbalancing:*:*:listener/net/ekl-acme/*', listener)).toBe(true);
    expect(arnMatches('arn:aws:elasticloadbalancing:*:*:listener/net/ekl-acm/*', listener)).toBe(false);
    expect(arnMatches('arn:aws:ec2:*:*:vpc/*', SG)).toBe(false);
    expect(arnMatches('*', SG)).toBe(true);
  });
});

describe('conditions', () => {
  const tagged = (op: string, key: string, value: string | string[]) =>
    allow({ Condition: { [op]: { [key]: value } } });
  const ctx = (context: AuthorizationRequest['context']) => req({ context });
  const decide = (st: EvaluatedStatement, r: AuthorizationRequest) => evaluate([policy(st)], r).decision;

  test('StringEquals: exact and case-sensitive; values are ORed; a missing key fails', () => {
    const st = tagged('StringEquals', 'aws:ResourceTag/chalk.ai/managed-by', ['chalk', 'other']);
    expect(decide(st, ctx({ 'aws:ResourceTag/chalk.ai/managed-by': 'chalk' }))).toBe('allow');
    expect(decide(st, ctx({ 'aws:ResourceTag/chalk.ai/managed-by': 'Chalk' }))).toBe('implicit-deny');
    expect(decide(st, ctx({}))).toBe('implicit-deny');
  });

  test('condition key names are case-insensitive', () => {
    const st = tagged('StringEquals', 'EC2:CreateAction', 'CreateSecurityGroup');
    expect(decide(st, ctx({ 'ec2:CreateAction': 'CreateSecurityGroup' }))).toBe('allow');
  });

  test('several keys, several operators: all must hold', () => {
    const st = allow({
      Condition: {
        StringEquals: { 'aws:RequestTag/a': '1', 'ec2:CreateAction': 'CreateVpcEndpoint' },
        ArnEquals: { 'ec2:Vpc': 'arn:aws:ec2:us-east-1:1:vpc/vpc-1' },
      },
    });
    const full = {
      'aws:RequestTag/a': '1',
      'ec2:CreateAction': 'CreateVpcEndpoint',
      'ec2:Vpc': 'arn:aws:ec2:us-east-1:1:vpc/vpc-1',
    };
    expect(decide(st, ctx(full))).toBe('allow');
    expect(decide(st, ctx({ ...full, 'ec2:Vpc': 'arn:aws:ec2:us-east-1:1:vpc/vpc-2' }))).toBe(
      'implicit-deny',
    );
    expect(decide(st, ctx({ ...full, 'aws:RequestTag/a': '2' }))).toBe('implicit-deny');
  });

  test('StringNotEquals holds when the key is missing; StringLike takes wildcards', () => {
    expect(decide(tagged('StringNotEquals', 'aws:RequestTag/a', 'x'), ctx({}))).toBe('allow');
    expect(decide(tagged('StringNotEquals', 'aws:RequestTag/a', 'x'), ctx({ 'aws:RequestTag/a': 'x' }))).toBe(
      'implicit-deny',
    );
    expect(
      decide(tagged('StringLike', 'aws:RequestTag/a', 'ekl-*'), ctx({ 'aws:RequestTag/a': 'ekl-acme' })),
    ).toBe('allow');
    expect(
      decide(tagged('StringLike', 'aws:RequestTag/a', 'ekl-*'), ctx({ 'aws:RequestTag/a': 'shop' })),
    ).toBe('implicit-deny');
  });

  test('ArnEquals / ArnLike: ARN wildcards per segment', () => {
    const want = 'arn:aws:ec2:eu-west-1:222222222222:vpc/vpc-2';
    for (const op of ['ArnEquals', 'ArnLike']) {
      expect(decide(tagged(op, 'ec2:AccepterVpc', want), ctx({ 'ec2:AccepterVpc': want }))).toBe('allow');
      expect(
        decide(
          tagged(op, 'ec2:AccepterVpc', 'arn:aws:ec2:*:222222222222:vpc/*'),
          ctx({ 'ec2:AccepterVpc': want }),
        ),
      ).toBe('allow');
      expect(
        decide(
          tagged(op, 'ec2:AccepterVpc', want),
          ctx({ 'ec2:AccepterVpc': 'arn:aws:ec2:eu-west-1:9:vpc/vpc-2' }),
        ),
      ).toBe('implicit-deny');
    }
  });

  test('...IfExists holds on a missing key and checks a present one; Null tests presence', () => {
    const st = tagged('StringEqualsIfExists', 'aws:RequestTag/a', '1');
    expect(decide(st, ctx({}))).toBe('allow');
    expect(decide(st, ctx({ 'aws:RequestTag/a': '2' }))).toBe('implicit-deny');
    expect(decide(tagged('Null', 'aws:RequestTag/a', 'true'), ctx({}))).toBe('allow');
    expect(decide(tagged('Null', 'aws:RequestTag/a', 'false'), ctx({}))).toBe('implicit-deny');
  });

  test('multivalued keys: ForAllValues / ForAnyValue; a plain operator on one is refused', () => {
    const keys = { 'aws:TagKeys': ['chalk.ai/managed-by', 'ekslink:deployment'] };
    const all = tagged('ForAllValues:StringEquals', 'aws:TagKeys', [
      'chalk.ai/managed-by',
      'ekslink:deployment',
      'Name',
    ]);
    expect(decide(all, ctx(keys))).toBe('allow');
    expect(decide(all, ctx({ 'aws:TagKeys': ['chalk.ai/managed-by', 'owner'] }))).toBe('implicit-deny');
    expect(decide(all, ctx({})), 'ForAllValues on a missing key holds').toBe('allow');
    const any = tagged('ForAnyValue:StringEquals', 'aws:TagKeys', 'owner');
    expect(decide(any, ctx(keys))).toBe('implicit-deny');
    expect(decide(any, ctx({ 'aws:TagKeys': ['owner'] }))).toBe('allow');
    expect(() => decide(tagged('StringEquals', 'aws:TagKeys', 'owner'), ctx(keys))).toThrow(
      PolicyEvaluationError,
    );
  });

  test('an operator the evaluator does not implement is an error, never an allow', () => {
    expect(() => decide(tagged('NumericLessThan', 'aws:MultiFactorAuthAge', '3600'), ctx({}))).toThrow(
      /NumericLessThan is not implemented/,
    );
  });
});
