/**
 * The infra app's input: one YAML or JSON file named by the `ekslink:config` context key
 * (`cdk synth -c ekslink:config=ekslink-infra.yaml`), and the provisioner's outputs file it
 * names (`provisionOutputsFile`): what the provisioner created comes from there, the rest
 * (subnets, the cluster's security group, instance sizes) from this file. Synth needs no
 * AWS credentials and no context lookups. The shape is checked here; the constructs check
 * the values.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import * as z from 'zod';
import { parseConfigText, validateConfig } from '../../common/config-file.js';
import { ConfigError } from '../../common/errors.js';
import { parseOutputsFile, type GcpToAwsOutputsFile } from '../../common/provision-outputs.js';
import { checkFleetImageKeys } from './app-image.js';
import { fleetFromOutputs, mergeFleet, peerFromOutputs, pipelineVpc } from './app-outputs.js';
import { InfraError } from './errors.js';
import type { ProxyFleetProps } from './proxy-fleet.js';
import type { WireGuardPeerProps } from './wireguard-peer.js';
import type { ProxyImagePipelineProps } from './image-pipeline.js';

export const CONFIG_CONTEXT_KEY = 'ekslink:config';

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

export interface StackEnv {
  readonly account?: string;
  readonly region?: string;
}

export interface AppConfig {
  readonly deploymentName: string;
  readonly proxyFleet?: { env: StackEnv; props: ProxyFleetProps };
  readonly wireGuardPeer?: { env: StackEnv; props: WireGuardPeerProps };
  readonly imagePipeline?: { env: StackEnv; props: Omit<ProxyImagePipelineProps, 'deploymentName'> };
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new InfraError(
      'EKL_INFRA_APP_CONFIG_INVALID',
      `${what} ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'EIO'})`,
      { cause: err },
    );
  }
}

/** Load the file named by the context value; relative render paths are relative to it. */
export function loadAppConfig(contextValue: unknown): AppConfig {
  if (typeof contextValue !== 'string' || contextValue === '') {
    throw new InfraError(
      'EKL_INFRA_APP_CONFIG_INVALID',
      `context ${CONFIG_CONTEXT_KEY} is not set (got ${JSON.stringify(contextValue)}); pass the infra config file, e.g. npx cdk synth -c ${CONFIG_CONTEXT_KEY}=infra/examples/topology1.json`,
    );
  }
  const path = resolve(contextValue);
  let parsed: z.output<typeof appConfigSchema>;
  try {
    parsed = validateConfig(
      appConfigSchema,
      parseConfigText(readText(path, 'infra config'), path),
      `infra config ${path}`,
    );
  } catch (err) {
    if (err instanceof ConfigError)
      throw new InfraError('EKL_INFRA_APP_CONFIG_INVALID', err.message, { cause: err });
    throw err;
  }
  const base = dirname(path);
  const outputsPath = parsed.provisionOutputsFile && resolve(base, parsed.provisionOutputsFile);
  const outputs = outputsPath ? readOutputs(outputsPath, parsed.deploymentName) : undefined;
  const split = <T extends StackEnv>(section: T) => {
    const { account, region, ...rest } = section;
    return { env: { ...(account ? { account } : {}), ...(region ? { region } : {}) }, rest };
  };
  if (parsed.proxyFleet) checkFleetImageKeys(parsed.proxyFleet, parsed.deploymentName);
  const fleet = parsed.proxyFleet && split(parsed.proxyFleet);
  const peer = parsed.wireGuardPeer && split(parsed.wireGuardPeer);
  const pipeline = parsed.imagePipeline && split(parsed.imagePipeline);
  return {
    deploymentName: parsed.deploymentName,
    ...(pipeline
      ? {
          imagePipeline: {
            env: pipeline.env,
            props: { ...pipeline.rest, ...pipelineVpc(pipeline.rest, outputs, outputsPath) },
          },
        }
      : {}),
    ...(fleet
      ? {
          proxyFleet: {
            env: fleet.env,
            props: fleetProps(
              outputs && outputsPath
                ? mergeFleet('proxyFleet', fleet.rest, fleetFromOutputs(outputs, outputsPath), outputsPath)
                : fleet.rest,
            ),
          },
        }
      : {}),
    ...(peer
      ? {
          wireGuardPeer: {
            env: peer.env,
            props: (({ wireGuardConfigFile, nftablesFile, vpcEndpointSecurityGroupId, ...p }) => ({
              ...p,
              vpcEndpointSecurityGroupId: handOrFile(
                'wireGuardPeer.vpcEndpointSecurityGroupId',
                vpcEndpointSecurityGroupId,
                outputs && outputsPath
                  ? peerFromOutputs(outputs, outputsPath).vpcEndpointSecurityGroupId
                  : undefined,
                outputsPath,
              ),
              wireGuardConfig: readText(resolve(base, wireGuardConfigFile), 'wireGuardConfigFile'),
              nftablesRules: readText(resolve(base, nftablesFile), 'nftablesFile'),
            }))(peer.rest),
          },
        }
      : {}),
  };
}

/** The outputs file named by provisionOutputsFile: a gcp-to-aws apply of this deployment. */
function readOutputs(path: string, deploymentName: string): GcpToAwsOutputsFile {
  let file;
  try {
    file = parseOutputsFile(readText(path, 'provisionOutputsFile'), `provisionOutputsFile ${path}`);
  } catch (err) {
    if (err instanceof ConfigError)
      throw new InfraError('EKL_INFRA_APP_CONFIG_INVALID', err.message, { cause: err });
    throw err;
  }
  if (file.topology !== 'gcp-to-aws') {
    throw new InfraError(
      'EKL_INFRA_APP_CONFIG_INVALID',
      `provisionOutputsFile ${path} is from topology ${file.topology}; the stacks are for topology 1: pass the outputs file of \`ekslink provision apply --topology gcp-to-aws\``,
    );
  }
  if (file.deployment !== deploymentName) {
    throw new InfraError(
      'EKL_INFRA_APP_CONFIG_INVALID',
      `deploymentName is "${deploymentName}" but provisionOutputsFile ${path} is of deployment "${file.deployment}"; use the same name in both configs, or point provisionOutputsFile at this deployment's outputs`,
    );
  }
  return file.outputs;
}

function handOrFile(
  key: string,
  hand: string | undefined,
  file: string | undefined,
  path: string | undefined,
): string {
  if (hand !== undefined && file !== undefined && hand !== file) {
    throw new InfraError(
      'EKL_INFRA_APP_CONFIG_INVALID',
      `${key} is "${hand}" but provisionOutputsFile ${path} has "${file}"; remove ${key} from the infra config (the outputs file provides it)`,
    );
  }
  const value = hand ?? file;
  if (value === undefined) {
    throw new InfraError(
      'EKL_INFRA_APP_CONFIG_INVALID',
      `${key} is missing: set provisionOutputsFile to the file \`ekslink provision apply --outputs-file\` wrote (recommended), or give ${key}`,
    );
  }
  return value;
}

const FLEET_FROM_FILE = [
  'vpcId',
  'vpcCidr',
  'eksApiHostnames',
  'targetGroupArn',
  'loadBalancerSecurityGroupId',
] as const;

/** Fleet props once merged: the keys the outputs file provides must now be there. */
function fleetProps(section: Record<string, unknown>): ProxyFleetProps {
  const absent = FLEET_FROM_FILE.filter((k) => section[k] === undefined);
  if (absent.length > 0) {
    throw new InfraError(
      'EKL_INFRA_APP_CONFIG_INVALID',
      `proxyFleet is missing ${absent.join(', ')}: set provisionOutputsFile to the file \`ekslink provision apply --outputs-file\` wrote (recommended: nothing is typed twice), or give them in proxyFleet`,
    );
  }
  return section as unknown as ProxyFleetProps;
}
