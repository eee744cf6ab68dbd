/**
 * The infra app's input: one YAML or JSON file named by the `ekslink:config` context key
 * (`cdk synth -c ekslink:config=ekslink-infra.yaml`), and the provisioner's outputs file it
 * names (`provisionOutputsFile`): what the provisioner created comes from there, the rest
 * (subnets, the cluster's security group, instance sizes) from this file. Synth needs no
 * AWS credentials and no context lookups. The shape is checked here (the schema:
 * app-config-schema.ts); the constructs check the values.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type * as z from 'zod';
import { parseConfigText, validateConfig } from '../../common/config-file.js';
import { ConfigError } from '../../common/errors.js';
import { parseOutputsFile, type GcpToAwsOutputsFile } from '../../common/provision-outputs.js';
import { checkFleetImageKeys } from './app-image.js';
import { fleetFromOutputs, mergeFleet, peerFromOutputs, pipelineVpc } from './app-outputs.js';
import { InfraError } from './errors.js';
import type { ProxyFleetProps } from './proxy-fleet.js';
import type { WireGuardPeerProps } from './wireguard-peer.js';
import type { ProxyImagePipelineProps } from './image-pipeline.js';
import { appConfigSchema } from './app-config-schema.js';

export { appConfigSchema };

export const CONFIG_CONTEXT_KEY = 'ekslink:config';

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
