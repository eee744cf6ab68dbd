/**
 * Shared fixtures and template readers for the infra tests. Synthesis is slow, so each test
 * file synthesizes its stacks once and reads the same templates in every test.
 */
import type { Stack } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../infra/lib/artifacts.js';
import type { ProxyFleetProps } from '../../infra/lib/proxy-fleet.js';
import type { WireGuardPeerProps } from '../../infra/lib/wireguard-peer.js';

export const EXAMPLES = join(REPO_ROOT, 'infra', 'examples');

/** A complete, valid set of fleet props (hand-written; the example reads the provisioner's outputs file). */
export function fleetProps(overrides: Partial<ProxyFleetProps> = {}): ProxyFleetProps {
  return {
    vpcId: 'vpc-0a1b2c3d4e5f60718',
    vpcCidr: '10.0.0.0/16',
    privateSubnetIds: ['subnet-0a1b2c3d4e5f60711', 'subnet-0a1b2c3d4e5f60722'],
    availabilityZones: ['us-east-1a', 'us-east-1b'],
    clusterSecurityGroupId: 'sg-0c1a2b3c4d5e6f708',
    eksApiHostnames: ['0123456789abcdef0123456789abcdef.gr7.us-east-1.eks.amazonaws.com'],
    targetGroupArn:
      'arn:aws:elasticloadbalancing:us-east-1:111111111111:targetgroup/ekslink-example/0123456789abcdef',
    loadBalancerSecurityGroupId: 'sg-0b1a2b3c4d5e6f70a',
    awsEndpointsSecurityGroupId: 'sg-0e1a2b3c4d5e6f709',
    s3PrefixListId: 'pl-63a5400a',
    amiId: EXAMPLE_AMI_ID,
    ...overrides,
  };
}

/** The pinned image of the fleet fixtures (an ekslink AMI, as the example config names it). */
export const EXAMPLE_AMI_ID = 'ami-0e1a2b3c4d5e6f708';

/** A complete, valid set of peer props, with the files `ekslink wireguard render` wrote for the example. */
export function peerProps(overrides: Partial<WireGuardPeerProps> = {}): WireGuardPeerProps {
  return {
    vpcId: 'vpc-0f1e2d3c4b5a69788',
    vpcCidr: '10.1.0.0/16',
    publicSubnetIds: ['subnet-0f1e2d3c4b5a69711', 'subnet-0f1e2d3c4b5a69722'],
    availabilityZones: ['us-east-1a', 'us-east-1b'],
    gcpEgressCidrs: ['203.0.113.10/32', '203.0.113.11/32'],
    wireGuardConfig: readFileSync(join(EXAMPLES, 'wireguard', 'aws', 'ekslink0.conf'), 'utf8'),
    nftablesRules: readFileSync(join(EXAMPLES, 'wireguard', 'aws', 'ekslink0.nft'), 'utf8'),
    privateKeySecretArn:
      'arn:aws:secretsmanager:us-east-1:222222222222:secret:ekslink/example/wireguard-peer-AbCdEf',
    vpcEndpointSecurityGroupId: 'sg-0f1a2b3c4d5e6f701',
    awsEndpointsSecurityGroupId: 'sg-0f1a2b3c4d5e6f702',
    s3PrefixListId: 'pl-63a5400a',
    ...overrides,
  };
}

type Json = Record<string, unknown>;

export function resourcesOfType(template: Template, type: string): [string, Json][] {
  return Object.entries(template.findResources(type)) as [string, Json][];
}

export function onlyResource(template: Template, type: string): [string, Json] {
  const found = resourcesOfType(template, type);
  if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
  return found[0]!;
}

/** Render an intrinsic as a readable placeholder: `${Ref:X}`, `${GetAtt:X.Y}`, `${Sub:...}`. */
function placeholder(value: unknown): string {
  if (typeof value === 'string') return value;
  const v = value as Json;
  if ('Ref' in v) return `\${Ref:${String(v.Ref)}}`;
  if ('Fn::GetAtt' in v) return `\${GetAtt:${(v['Fn::GetAtt'] as string[]).join('.')}}`;
  if ('Fn::Sub' in v) return `\${Sub:${String(v['Fn::Sub'])}}`;
  if ('Fn::Join' in v) {
    const [sep, parts] = v['Fn::Join'] as [string, unknown[]];
    return parts.map(placeholder).join(sep);
  }
  return `\${${JSON.stringify(v)}}`;
}

/** The launch template's user data script, with intrinsics as placeholders. */
export function userDataOf(template: Template): string {
  const [, lt] = onlyResource(template, 'AWS::EC2::LaunchTemplate');
  const data = (lt.Properties as Json).LaunchTemplateData as Json;
  return placeholder((data.UserData as Json)['Fn::Base64']);
}

/** The text of a file user data writes with a quoted heredoc. */
export function heredocFile(userData: string, path: string): string {
  const start = userData.indexOf(`cat > ${path} <<'`);
  if (start < 0) throw new Error(`user data writes no ${path}`);
  const delimiterStart = start + `cat > ${path} <<'`.length;
  const delimiter = userData.slice(delimiterStart, userData.indexOf("'", delimiterStart));
  const bodyStart = userData.indexOf('\n', delimiterStart) + 1;
  return userData.slice(bodyStart, userData.indexOf(`\n${delimiter}\n`, bodyStart) + 1);
}

/** One security-group rule, normalized from inline rules and standalone Ingress/Egress resources. */
export interface Rule {
  readonly direction: 'ingress' | 'egress';
  readonly protocol: string;
  readonly fromPort: number;
  readonly toPort: number;
  /** CIDR, prefix list or security group (literal ID or `${GetAtt:...}`). */
  readonly peer: string;
}

function ruleOf(direction: Rule['direction'], r: Json): Rule {
  const peer =
    r.CidrIp ??
    r.CidrIpv6 ??
    r.SourcePrefixListId ??
    r.DestinationPrefixListId ??
    r.SourceSecurityGroupId ??
    r.DestinationSecurityGroupId;
  return {
    direction,
    protocol: String(r.IpProtocol),
    fromPort: Number(r.FromPort),
    toPort: Number(r.ToPort),
    peer: placeholder(peer),
  };
}

const byText = (a: Rule, b: Rule) => JSON.stringify(a).localeCompare(JSON.stringify(b));

/** Every rule of the group `groupRef` (its logical ID, or a literal sg- ID for imported groups). */
export function rulesOf(template: Template, groupRef: string): Rule[] {
  const rules: Rule[] = [];
  const matches = (g: unknown) =>
    placeholder(g) === groupRef || placeholder(g) === `\${GetAtt:${groupRef}.GroupId}`;
  for (const [id, sg] of resourcesOfType(template, 'AWS::EC2::SecurityGroup')) {
    if (id !== groupRef) continue;
    const p = sg.Properties as Json;
    for (const r of (p.SecurityGroupIngress as Json[] | undefined) ?? []) rules.push(ruleOf('ingress', r));
    for (const r of (p.SecurityGroupEgress as Json[] | undefined) ?? []) rules.push(ruleOf('egress', r));
  }
  for (const [, r] of resourcesOfType(template, 'AWS::EC2::SecurityGroupIngress')) {
    if (matches((r.Properties as Json).GroupId)) rules.push(ruleOf('ingress', r.Properties as Json));
  }
  for (const [, r] of resourcesOfType(template, 'AWS::EC2::SecurityGroupEgress')) {
    if (matches((r.Properties as Json).GroupId)) rules.push(ruleOf('egress', r.Properties as Json));
  }
  return rules.sort(byText);
}

export function rules(list: Rule[]): Rule[] {
  return [...list].sort(byText);
}

/** Every ingress source in the template, inline or standalone. */
export function allIngressSources(template: Template): string[] {
  const out: string[] = [];
  for (const [, sg] of resourcesOfType(template, 'AWS::EC2::SecurityGroup')) {
    for (const r of ((sg.Properties as Json).SecurityGroupIngress as Json[] | undefined) ?? [])
      out.push(ruleOf('ingress', r).peer);
  }
  for (const [, r] of resourcesOfType(template, 'AWS::EC2::SecurityGroupIngress'))
    out.push(ruleOf('ingress', r.Properties as Json).peer);
  return out;
}

/** The statements of the role's inline policies, intrinsics as placeholders. */
export function inlineStatements(template: Template): Json[] {
  return resourcesOfType(template, 'AWS::IAM::Policy').flatMap(([, p]) =>
    ((((p.Properties as Json).PolicyDocument as Json).Statement as Json[]) ?? []).map((s) => ({
      ...s,
      Resource: Array.isArray(s.Resource) ? s.Resource.map(placeholder) : placeholder(s.Resource),
    })),
  );
}

export function managedPolicyArns(template: Template): string[] {
  const [, role] = onlyResource(template, 'AWS::IAM::Role');
  return (((role.Properties as Json).ManagedPolicyArns as unknown[]) ?? []).map(placeholder);
}

export interface NagResult {
  /** Findings left after acknowledgements: must be empty. */
  readonly unacknowledged: string[];
  /** Every finding the rules raise when acknowledgements are ignored. */
  readonly raised: string[];
  /** Every acknowledgement recorded in the tree (cdk-nag findings and CDK annotations): id and reason. */
  readonly acknowledged: { id: string; reason: string; path: string }[];
}

/** Run the AwsSolutions pack over a stack, with and without its acknowledgements. */
export function runNag(stack: Stack): NagResult {
  const report = new AwsSolutionsChecks().validateScope(stack);
  const blind = new AwsSolutionsChecks();
  // Ignore acknowledgements to see what they cover (cdk-nag keeps the check private).
  (blind as unknown as { isAcknowledged: () => boolean }).isAcknowledged = () => false;
  const raised = blind.validateScope(stack).violations.map((v) => v.ruleName);
  const acknowledged: NagResult['acknowledged'] = [];
  const walk = (c: IConstruct) => {
    for (const m of c.node.metadata) {
      if (m.type !== 'aws:cdk:acknowledged-rules') continue;
      // Recorded as { "<kind>::<rule id>": reason }.
      for (const [key, reason] of Object.entries(m.data as Record<string, string>)) {
        acknowledged.push({ id: key.slice(key.indexOf('::') + 2), reason, path: c.node.path });
      }
    }
    c.node.children.forEach(walk);
  };
  walk(stack);
  return { unacknowledged: report.violations.map((v) => v.ruleName), raised, acknowledged };
}
