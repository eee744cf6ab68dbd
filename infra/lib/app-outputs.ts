/**
 * The provisioner's outputs file as the stacks' input: every value `ekslink provision apply`
 * created or found (target group, NLB security group, endpoint id and security group, the
 * PROXY v2 setting, EKS hostnames, resolver, upstream CIDRs, provider VPC) comes from the
 * file, not from a hand-typed copy. A value also given by hand must agree with the file;
 * a conflict fails synth naming both.
 */
import { blockWithin, parseCidr } from '../../common/cidr.js';
import type { GcpToAwsOutputsFile } from '../../common/provision-outputs.js';
import { InfraError } from './errors.js';
import type { TargetGroupSettings } from './fleet-pairing.js';

/** Fleet values the outputs file provides (keys as in the infra config's proxyFleet section). */
export interface FleetFromOutputs {
  readonly vpcId: string;
  readonly vpcCidr: string;
  readonly eksApiHostnames: string[];
  readonly targetGroupArn: string;
  readonly loadBalancerSecurityGroupId: string;
  readonly targetGroupSettings: TargetGroupSettings;
  readonly proxyProtocolMode: 'off' | 'required';
  readonly allowedVpcEndpointIds: string[];
  readonly allowedUpstreamCidrs: string[];
  readonly dnsResolverIp: string;
  readonly healthPort: number;
}

function missing(path: string, key: string): never {
  throw new InfraError(
    'EKL_INFRA_APP_CONFIG_INVALID',
    `provisionOutputsFile ${path} has no ${key} yet (null): the apply that wrote it did not finish; run \`ekslink provision apply --outputs-file ${path}\` until it succeeds, then synth again`,
  );
}

/** The fleet's share of a gcp-to-aws outputs file; every value the file must hold for it. */
export function fleetFromOutputs(o: GcpToAwsOutputsFile, path: string): FleetFromOutputs {
  const tg = o.targetGroup ?? missing(path, 'targetGroup');
  return {
    vpcId: o.providerVpcId,
    vpcCidr: o.providerVpcCidr ?? missing(path, 'providerVpcCidr'),
    eksApiHostnames: [...o.eksHostnames],
    targetGroupArn: o.targetGroupArn ?? missing(path, 'targetGroupArn'),
    loadBalancerSecurityGroupId:
      o.loadBalancerSecurityGroupId ?? missing(path, 'loadBalancerSecurityGroupId'),
    targetGroupSettings: tg,
    proxyProtocolMode: tg.proxyProtocolV2 ? 'required' : 'off',
    allowedVpcEndpointIds: [o.vpcEndpointId ?? missing(path, 'vpcEndpointId')],
    allowedUpstreamCidrs: [...o.upstreamCidrs],
    dnsResolverIp: o.dnsResolverIp ?? missing(path, 'dnsResolverIp'),
    healthPort: tg.healthCheckPort,
  };
}

/** The peer's share: the consumer endpoint's security group. */
export function peerFromOutputs(
  o: GcpToAwsOutputsFile,
  path: string,
): { vpcEndpointSecurityGroupId: string } {
  return {
    vpcEndpointSecurityGroupId: o.vpcEndpointSecurityGroupId ?? missing(path, 'vpcEndpointSecurityGroupId'),
  };
}

/**
 * The image pipeline's VPC: the provider VPC of the outputs file (where the fleet runs, so
 * its endpoints are already there), unless the section names a separate build VPC (then
 * both vpcId and vpcCidr, and the file is not consulted).
 */
export function pipelineVpc(
  hand: { readonly vpcId?: string | undefined; readonly vpcCidr?: string | undefined },
  o: GcpToAwsOutputsFile | undefined,
  path: string | undefined,
): { vpcId: string; vpcCidr: string } {
  if (hand.vpcId !== undefined && hand.vpcCidr !== undefined)
    return { vpcId: hand.vpcId, vpcCidr: hand.vpcCidr };
  if (hand.vpcId !== undefined || hand.vpcCidr !== undefined) {
    const [given, absent] = hand.vpcId !== undefined ? ['vpcId', 'vpcCidr'] : ['vpcCidr', 'vpcId'];
    throw new InfraError(
      'EKL_INFRA_APP_CONFIG_INVALID',
      `imagePipeline.${given} is given without imagePipeline.${absent}: a separate build VPC needs both; remove both to build in the provider VPC of provisionOutputsFile`,
    );
  }
  if (o === undefined || path === undefined) {
    throw new InfraError(
      'EKL_INFRA_APP_CONFIG_INVALID',
      'imagePipeline.vpcId and imagePipeline.vpcCidr are missing: set provisionOutputsFile (the pipeline then builds in its provider VPC), or give both, e.g. "vpcId": "vpc-0123456789abcdef0", "vpcCidr": "10.0.0.0/16"',
    );
  }
  return { vpcId: o.providerVpcId, vpcCidr: o.providerVpcCidr ?? missing(path, 'providerVpcCidr') };
}

/** Why a hand-written value disagrees with the file's, or undefined when it agrees. */
type Agreement = (hand: unknown, file: unknown) => string | undefined;

const same: Agreement = (hand, file) =>
  JSON.stringify(hand) === JSON.stringify(file) ? undefined : 'differs';

const sameSet: Agreement = (hand, file) => {
  const a = [...(hand as string[])].sort();
  const b = [...(file as string[])].sort();
  return JSON.stringify(a) === JSON.stringify(b) ? undefined : 'differs';
};

/** The hand list may add endpoints, but must keep the one the provisioner created. */
const keepsEndpoint: Agreement = (hand, file) =>
  (file as string[]).every((id) => (hand as string[]).includes(id))
    ? undefined
    : "leaves out the VPC endpoint the provisioner created, so the proxy would refuse the deployment's own traffic";

/** The hand list may narrow the upstream CIDRs (e.g. to the cluster's subnets), never widen them. */
const within: Agreement = (hand, file) => {
  const outer = (file as string[]).map((c) => parseCidr(c)).filter((b) => b !== undefined);
  const outside = (hand as string[]).filter((c) => {
    const b = parseCidr(c);
    return b === undefined || !outer.some((o) => blockWithin(b, o));
  });
  return outside.length === 0
    ? undefined
    : `reaches beyond the provider VPC (${outside.join(', ')} is outside ${(file as string[]).join(', ')})`;
};

const AGREEMENT: Record<keyof FleetFromOutputs, Agreement> = {
  vpcId: same,
  vpcCidr: same,
  eksApiHostnames: sameSet,
  targetGroupArn: same,
  loadBalancerSecurityGroupId: same,
  targetGroupSettings: same,
  proxyProtocolMode: same,
  allowedVpcEndpointIds: keepsEndpoint,
  allowedUpstreamCidrs: within,
  dnsResolverIp: same,
  healthPort: same,
};

/** The file's key each fleet value comes from, for messages. */
const SOURCE_KEY: Record<keyof FleetFromOutputs, string> = {
  vpcId: 'providerVpcId',
  vpcCidr: 'providerVpcCidr',
  eksApiHostnames: 'eksHostnames',
  targetGroupArn: 'targetGroupArn',
  loadBalancerSecurityGroupId: 'loadBalancerSecurityGroupId',
  targetGroupSettings: 'targetGroup',
  proxyProtocolMode: 'targetGroup.proxyProtocolV2',
  allowedVpcEndpointIds: 'vpcEndpointId',
  allowedUpstreamCidrs: 'upstreamCidrs',
  dnsResolverIp: 'dnsResolverIp',
  healthPort: 'targetGroup.healthCheckPort',
};

/**
 * Hand-written values merged over the file's: a hand value that agrees is kept (a narrower
 * upstream list, extra endpoints), one that conflicts is an error naming both.
 */
export function mergeFleet<T extends Record<string, unknown>>(
  section: string,
  hand: T,
  file: FleetFromOutputs,
  path: string,
): T & FleetFromOutputs {
  const problems: string[] = [];
  const merged: Record<string, unknown> = { ...file, ...hand };
  for (const key of Object.keys(file) as (keyof FleetFromOutputs)[]) {
    if (hand[key] === undefined) {
      merged[key] = file[key];
      continue;
    }
    const why = AGREEMENT[key](hand[key], file[key]);
    if (why !== undefined) {
      problems.push(
        `${section}.${key} is ${JSON.stringify(hand[key])} but provisionOutputsFile ${path} has ${SOURCE_KEY[key]} ${JSON.stringify(key === 'proxyProtocolMode' ? file.targetGroupSettings.proxyProtocolV2 : file[key])} (${why}); remove ${section}.${key} from the infra config (the outputs file provides it), or change the provisioner's config and run \`ekslink provision apply --outputs-file ${path}\` again`,
      );
    }
  }
  if (problems.length > 0) {
    throw new InfraError(
      'EKL_INFRA_APP_CONFIG_INVALID',
      `the infra config and the provisioner's outputs disagree (${problems.length} value${problems.length === 1 ? '' : 's'}):\n  - ${problems.join('\n  - ')}`,
    );
  }
  return merged as T & FleetFromOutputs;
}
