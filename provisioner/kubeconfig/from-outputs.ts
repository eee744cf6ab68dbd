/**
 * `ekslink kubeconfig --provision-outputs FILE`: server and tls-server-name come from the
 * outputs of a gcp-to-aws apply (server = the regional VPC endpoint DNS name, the first in the
 * list; tls-server-name = the EKS hostname). A flag that disagrees with the file is an error
 * naming both values, so a stale flag never wins silently.
 */
import { EkslinkError } from '../../common/errors.js';
import { readGcpToAwsOutputs, type GcpToAwsOutputsFile } from '../outputs-file.js';
import { KUBECONFIG_ERROR_CODES } from './errors.js';
import { parseServer } from './input.js';

function conflict(flag: string, given: string, key: string, fromFile: string, path: string): EkslinkError {
  return new EkslinkError(
    KUBECONFIG_ERROR_CODES.outputsConflict,
    `--${flag} is ${given} but ${key} in ${path} is ${fromFile}; drop --${flag} (the outputs file is the source), or re-run apply if the outputs file is stale`,
    { source: 'config' },
  );
}

const normal = (host: string) => host.toLowerCase().replace(/\.$/, '');

/** The kubeconfig options with topology, server and eks-hostname filled from the outputs (pure). */
export function mergeKubeconfigOutputs(
  options: Readonly<Record<string, unknown>>,
  outputs: GcpToAwsOutputsFile,
  path: string,
): Record<string, unknown> {
  const dnsName = outputs.vpcEndpointDnsNames[0];
  if (dnsName === undefined) {
    throw new EkslinkError(
      KUBECONFIG_ERROR_CODES.outputsIncomplete,
      `outputs file ${path} lists no VPC endpoint DNS name (vpcEndpointDnsNames is empty): apply did not finish creating the endpoint. Run \`ekslink provision apply --outputs-file ${path}\` again`,
      { source: 'config' },
    );
  }
  const { provisionOutputs: _ignored, ...rest } = options;
  if (rest.topology !== undefined && rest.topology !== 'gcp-to-aws') {
    throw conflict('topology', String(rest.topology), 'the topology', 'gcp-to-aws', path);
  }
  if (typeof rest.server === 'string') {
    const given = parseServer(rest.server);
    if (given === undefined || given.host !== normal(dnsName) || given.port !== 443) {
      throw conflict('server', rest.server, 'vpcEndpointDnsNames[0]', dnsName, path);
    }
  }
  if (typeof rest.eksHostname === 'string' && normal(rest.eksHostname) !== normal(outputs.eksHostname)) {
    throw conflict('eks-hostname', rest.eksHostname, 'eksHostname', outputs.eksHostname, path);
  }
  return { ...rest, topology: 'gcp-to-aws', server: dnsName, eksHostname: outputs.eksHostname };
}

/** Read the outputs file and merge it into the kubeconfig options. */
export async function kubeconfigOptionsFromOutputs(
  options: Readonly<Record<string, unknown>>,
  path: string,
): Promise<Record<string, unknown>> {
  return mergeKubeconfigOutputs(options, await readGcpToAwsOutputs(path, '`ekslink kubeconfig`'), path);
}
