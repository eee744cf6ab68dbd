/**
 * `ekslink wireguard render --config FILE --provision-outputs FILE`: the VPC endpoint addresses
 * come from the provisioner's outputs file; the render config keeps only what the provisioner
 * cannot know (tunnel addresses, the peer's public endpoint, keys). When both give addresses
 * they must agree, so a stale copy in the config never wins silently.
 */
import { readFile } from 'node:fs/promises';
import { ConfigError, EkslinkError } from '../../common/errors.js';
import { parseConfigText } from '../../common/config-file.js';
import { readGcpToAwsOutputs } from '../outputs-file.js';
import { parseWireguardConfig, type WireguardConfig } from './config.js';
import { WIREGUARD_ERROR_CODES } from './errors.js';

function list(addresses: readonly string[]): string {
  return `[${addresses.join(', ')}]`;
}

/** The render config data with vpcEndpoint.addresses taken from the outputs (pure). */
export function mergeEndpointAddresses(
  data: unknown,
  outputsAddresses: readonly string[],
  origins: { config: string; outputs: string },
): unknown {
  if (outputsAddresses.length === 0) {
    throw new EkslinkError(
      WIREGUARD_ERROR_CODES.outputsNoAddresses,
      `outputs file ${origins.outputs} lists no VPC endpoint addresses (vpcEndpointAddresses is empty): the endpoint has no network interfaces yet, or apply did not finish. Run \`ekslink provision apply --outputs-file ${origins.outputs}\` again once the endpoint is available`,
      { source: 'config' },
    );
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return data; // the schema reports it
  const config = data as Record<string, unknown>;
  const section = config.vpcEndpoint;
  const given =
    section !== null && typeof section === 'object' && !Array.isArray(section)
      ? (section as Record<string, unknown>).addresses
      : undefined;
  if (given !== undefined) {
    const sameSet =
      Array.isArray(given) &&
      given.length === outputsAddresses.length &&
      [...given].map(String).sort().join() === [...outputsAddresses].sort().join();
    if (!sameSet) {
      throw new EkslinkError(
        WIREGUARD_ERROR_CODES.outputsConflict,
        `vpcEndpoint.addresses in ${origins.config} is ${Array.isArray(given) ? list(given.map(String)) : JSON.stringify(given)} but vpcEndpointAddresses in ${origins.outputs} is ${list(outputsAddresses)}; remove vpcEndpoint from ${origins.config} (the outputs file is the source), or re-run apply if the outputs are stale`,
        { source: 'config' },
      );
    }
  }
  const rest = section !== null && typeof section === 'object' ? (section as Record<string, unknown>) : {};
  return { ...config, vpcEndpoint: { ...rest, addresses: [...outputsAddresses] } };
}

/** Load the render config, filling the endpoint addresses from the provision outputs file. */
export async function loadWireguardConfigWithOutputs(
  configPath: string,
  outputsPath: string,
): Promise<WireguardConfig> {
  const outputs = await readGcpToAwsOutputs(outputsPath, '`ekslink wireguard render`');
  let text: string;
  try {
    text = await readFile(configPath, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `config file ${configPath} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'EIO'}); check the path passed to --config`,
      [],
      { cause: err },
    );
  }
  const origin = `wireguard config ${configPath}`;
  const merged = mergeEndpointAddresses(parseConfigText(text, origin), outputs.vpcEndpointAddresses, {
    config: configPath,
    outputs: outputsPath,
  });
  return parseWireguardConfig(merged, `${origin} (with vpcEndpoint.addresses from ${outputsPath})`);
}
