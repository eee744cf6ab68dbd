/** The shape of the infra app's config file (infra/lib/app-config.ts reads it): zod, checked at the edge. */
import * as z from 'zod';

const strings = z.array(z.string());
const env = {
  /** Target account; synth stays environment-agnostic without it. */
  account: z
    .string()
    .regex(/^\d{12}$/, { message: 'must be a 12-digit account ID, e.g. "111122223333"' })
    .optional(),
  region: z
    .string()
    .regex(/^[a-z]{2}(-[a-z]+)+-\d$/, { message: 'must be a region name, e.g. "us-east-1"' })
    .optional(),
};

const fleetSchema = z
  .object({
    ...env,
    /** From provisionOutputsFile (providerVpcId) when it is set. */
    vpcId: z.string().optional(),
    /** From provisionOutputsFile (providerVpcCidr) when it is set. */
    vpcCidr: z.string().optional(),
    privateSubnetIds: strings,
    availabilityZones: strings,
    clusterSecurityGroupId: z.string(),
    /** From provisionOutputsFile (eksHostnames) when it is set. */
    eksApiHostnames: strings.optional(),
    /** From provisionOutputsFile when it is set. */
    targetGroupArn: z.string().optional(),
    /** From provisionOutputsFile when it is set. */
    loadBalancerSecurityGroupId: z.string().optional(),
    awsEndpointsSecurityGroupId: z.string(),
    s3PrefixListId: z.string(),
    amiId: z.string().optional(),
    amiParameterName: z.string().optional(),
    amiKind: z.enum(['ekslink', 'al2023'], { message: 'must be "ekslink" or "al2023"' }).optional(),
    alarmTopicArn: z.string().optional(),
    allowedUpstreamCidrs: strings.optional(),
    allowPublicUpstreamCidrs: z.boolean().optional(),
    dnsResolverIp: z.string().optional(),
    instanceType: z.string().optional(),
    minCapacity: z.number().optional(),
    desiredCapacity: z.number().optional(),
    maxCapacity: z.number().optional(),
    healthPort: z.number().optional(),
    proxyProtocolMode: z.enum(['off', 'required'], { message: 'must be "off" or "required"' }).optional(),
    allowedVpcEndpointIds: strings.optional(),
    drainGraceSec: z.number().optional(),
    drainDeadlineSec: z.number().optional(),
    healthCheckGracePeriodSec: z.number().optional(),
    bootTimeoutSec: z.number().optional(),
    cpuTargetUtilizationPercent: z.number().optional(),
    rootVolumeSizeGib: z.number().optional(),
    logRetentionDays: z.number().optional(),
  })
  .strict();

const peerSchema = z
  .object({
    ...env,
    vpcId: z.string(),
    vpcCidr: z.string(),
    publicSubnetIds: strings,
    availabilityZones: strings,
    gcpEgressCidrs: strings,
    /** aws/<iface>.conf from `ekslink wireguard render`, relative to this file. */
    wireGuardConfigFile: z.string().min(1),
    /** aws/<iface>.nft from `ekslink wireguard render`, relative to this file. */
    nftablesFile: z.string().min(1),
    privateKeySecretArn: z.string(),
    /** From provisionOutputsFile (vpcEndpointSecurityGroupId) when it is set. */
    vpcEndpointSecurityGroupId: z.string().optional(),
    awsEndpointsSecurityGroupId: z.string(),
    s3PrefixListId: z.string(),
    privateKeySecretKmsKeyArn: z.string().optional(),
    elasticIpAllocationId: z.string().optional(),
    maxHandshakeAgeSec: z.number().optional(),
    interfaceName: z.string().optional(),
    instanceType: z.string().optional(),
    bootTimeoutSec: z.number().optional(),
    rootVolumeSizeGib: z.number().optional(),
    logRetentionDays: z.number().optional(),
  })
  .strict();

const imagePipelineSchema = z
  .object({
    ...env,
    /** From provisionOutputsFile (providerVpcId) when it is set; give it for a separate build VPC. */
    vpcId: z.string().optional(),
    /** From provisionOutputsFile (providerVpcCidr) with vpcId; give both or neither. */
    vpcCidr: z.string().optional(),
    subnetIds: strings,
    availabilityZones: strings,
    awsEndpointsSecurityGroupId: z.string(),
    s3PrefixListId: z.string(),
    architectures: z
      .array(z.enum(['arm64', 'x86_64'], { message: 'must be "arm64" or "x86_64"' }))
      .optional(),
    scheduleExpression: z.string().optional(),
    imageScanning: z.boolean().optional(),
    nodePackage: z.string().optional(),
  })
  .strict();

export const appConfigSchema = z
  .object({
    /** Names the stacks (ekslink-<name>-proxy-fleet, ekslink-<name>-wireguard-peer) and tags them. */
    deploymentName: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, {
      message: 'must be 1-32 of [a-z0-9-] starting with a letter, e.g. "acme-prod"',
    }),
    /**
     * The file `ekslink provision apply --outputs-file` wrote (gcp-to-aws), relative to this
     * file: the target group, the NLB and endpoint security groups, the endpoint id, the
     * PROXY v2 setting, EKS hostnames, resolver and upstream CIDRs come from it.
     */
    provisionOutputsFile: z.string().min(1).optional(),
    proxyFleet: fleetSchema.optional(),
    wireGuardPeer: peerSchema.optional(),
    /** The proxy AMI's image pipeline (data-plane account); its output is proxyFleet.amiId or amiParameterName. */
    imagePipeline: imagePipelineSchema.optional(),
  })
  .strict()
  .refine(
    (c) => c.proxyFleet !== undefined || c.wireGuardPeer !== undefined || c.imagePipeline !== undefined,
    {
      message:
        'give proxyFleet (data-plane account), wireGuardPeer (proxy account), imagePipeline (data-plane account), or several',
    },
  );
