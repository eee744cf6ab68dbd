/**
 * The provision outputs file's schema (`ekslink provision apply --outputs-file FILE`): the
 * one hand-off between the provisioner and what reads its results — the CDK app
 * (`provisionOutputsFile` in the infra config), `ekslink wireguard render` and
 * `ekslink kubeconfig` (`--provision-outputs FILE`). One schema, here, for all of them
 * (docs/provisioner.md lists the keys).
 *
 * A version may gain keys inside `outputs`; removing a key or changing its meaning bumps
 * `version`, and readers refuse versions they do not know. Version 2 (the stacks read it):
 * `securityGroupId` became `vpcEndpointSecurityGroupId` beside the new
 * `loadBalancerSecurityGroupId`, and the target group's settings, the provider VPC, its
 * resolver and the upstream CIDRs were added.
 */
import { isIP } from 'node:net';
import * as z from 'zod';
import { parseConfigText, validateConfig } from './config-file.js';

export const OUTPUTS_FILE_FORMAT = 'ekslink.provision-outputs';
export const OUTPUTS_FILE_VERSION = 2;

const nullableString = z.string().min(1).nullable();
const ipv4 = z
  .string()
  .refine((s) => isIP(s) === 4, { message: 'must be an IPv4 address, e.g. "10.20.1.23"' });

/** The target group as the provisioner set it: what the fleet's proxy must pair with. */
export const targetGroupSettingsSchema = z.object({
  proxyProtocolV2: z.boolean(),
  deregistrationDelaySec: z.number().int().min(0),
  connectionTermination: z.boolean(),
  healthCheckPort: z.number().int().min(1).max(65535),
  healthCheckIntervalSec: z.number().int().min(1),
  unhealthyThresholdCount: z.number().int().min(1),
});

export type TargetGroupSettings = z.output<typeof targetGroupSettingsSchema>;

/** gcp-to-aws outputs (provisioner/topologies/gcp-to-aws/outputs.ts), as written. */
export const gcpToAwsOutputsSchema = z.looseObject({
  endpointServiceName: nullableString,
  endpointServiceId: nullableString,
  vpcEndpointId: nullableString,
  vpcEndpointDnsNames: z.array(z.string().min(1)),
  vpcEndpointAddresses: z.array(ipv4),
  /** The consumer VPC endpoint's security group: the WireGuard peer reaches the endpoint through it. */
  vpcEndpointSecurityGroupId: nullableString,
  eksHostname: z.string().min(1),
  /** Every EKS hostname the proxy routes (today the one of the config). */
  eksHostnames: z.array(z.string().min(1)).min(1),
  targetGroupArn: nullableString,
  targetGroup: targetGroupSettingsSchema.nullable(),
  loadBalancerArn: nullableString,
  /** The NLB's own security group: the fleet admits the data and health ports from it only. */
  loadBalancerSecurityGroupId: nullableString,
  /** The provider (data-plane) VPC the NLB, the fleet and the EKS cluster share. */
  providerVpcId: z.string().min(1),
  providerVpcCidr: nullableString,
  /** The provider VPC's resolver (base of its CIDR + 2): answers the EKS private hostname. */
  dnsResolverIp: ipv4.nullable(),
  /** Where the EKS API's private ENIs can be: the proxy's allowed upstream CIDRs. */
  upstreamCidrs: z.array(z.string().min(1)),
  kubeconfig: nullableString,
});

export type GcpToAwsOutputsFile = z.output<typeof gcpToAwsOutputsSchema>;

const header = {
  format: z.literal(OUTPUTS_FILE_FORMAT, {
    message: `must be "${OUTPUTS_FILE_FORMAT}": write this file with \`ekslink provision apply --outputs-file FILE\``,
  }),
  version: z.literal(OUTPUTS_FILE_VERSION, {
    message: `must be ${OUTPUTS_FILE_VERSION}: this ekslink reads outputs files of version ${OUTPUTS_FILE_VERSION}; re-run \`ekslink provision apply --outputs-file FILE\` with this ekslink (it changes nothing in AWS and rewrites the file), or use the ekslink that wrote it`,
  }),
  deployment: z.string().min(1),
};

export const outputsFileSchema = z.discriminatedUnion(
  'topology',
  [
    z.object({ ...header, topology: z.literal('gcp-to-aws'), outputs: gcpToAwsOutputsSchema }).strict(),
    z
      .object({ ...header, topology: z.literal('peered'), outputs: z.record(z.string(), z.unknown()) })
      .strict(),
  ],
  { message: 'topology must be "gcp-to-aws" or "peered" (the --topology apply ran with)' },
);

export type OutputsFile = z.output<typeof outputsFileSchema>;

/** The file's contents for one apply. */
export function outputsDocument(
  topology: string,
  deployment: string,
  outputs: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  return { format: OUTPUTS_FILE_FORMAT, version: OUTPUTS_FILE_VERSION, topology, deployment, outputs };
}

/** Parse and validate the text of an outputs file; throws ConfigError naming every problem. */
export function parseOutputsFile(text: string, origin: string): OutputsFile {
  return validateConfig(outputsFileSchema, parseConfigText(text, origin), origin);
}
