/**
 * The provision outputs file (`ekslink provision apply --outputs-file FILE`): what apply
 * learned, in a documented, versioned JSON shape that `ekslink wireguard render` and
 * `ekslink kubeconfig` read back with `--provision-outputs FILE` (docs/provisioner.md).
 *
 * Version 1 may gain keys inside `outputs`; removing a key or changing its meaning bumps
 * `version`, and readers refuse versions they do not know.
 */
import { chmod, readFile, rename, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { z } from 'zod';
import { ConfigError } from '../common/errors.js';
import { parseConfigText, validateConfig } from '../common/config-file.js';
import { ProvisionError } from './errors.js';

export const OUTPUTS_FILE_FORMAT = 'ekslink.provision-outputs';
export const OUTPUTS_FILE_VERSION = 1;

const nullableString = z.string().min(1).nullable();

/** gcp-to-aws outputs (provisioner/topologies/gcp-to-aws/outputs.ts), as written. */
export const gcpToAwsOutputsSchema = z.looseObject({
  endpointServiceName: nullableString,
  endpointServiceId: nullableString,
  vpcEndpointId: nullableString,
  vpcEndpointDnsNames: z.array(z.string().min(1)),
  vpcEndpointAddresses: z.array(
    z.string().refine((s) => isIP(s) === 4, { message: 'must be an IPv4 address, e.g. "10.20.1.23"' }),
  ),
  eksHostname: z.string().min(1),
  targetGroupArn: nullableString,
  loadBalancerArn: nullableString,
  securityGroupId: nullableString,
  kubeconfig: nullableString,
});

export type GcpToAwsOutputsFile = z.output<typeof gcpToAwsOutputsSchema>;

const header = {
  format: z.literal(OUTPUTS_FILE_FORMAT, {
    message: `must be "${OUTPUTS_FILE_FORMAT}": write this file with \`ekslink provision apply --outputs-file FILE\``,
  }),
  version: z.literal(OUTPUTS_FILE_VERSION, {
    message: `must be ${OUTPUTS_FILE_VERSION}: this ekslink reads outputs files of version ${OUTPUTS_FILE_VERSION}; re-run \`ekslink provision apply --outputs-file FILE\` with this ekslink, or use the ekslink that wrote it`,
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

/** Write through a temporary file and rename, so a reader never sees half a file. */
export async function writeOutputsFile(path: string, document: Record<string, unknown>): Promise<void> {
  const temp = `${path}.tmp-${process.pid}`;
  try {
    // Outputs name resources and hold no secrets (the kubeconfig snippet's CA is public).
    await writeFile(temp, `${JSON.stringify(document, null, 2)}\n`, { mode: 0o644, flag: 'w' });
    await chmod(temp, 0o644);
    await rename(temp, path);
  } catch (err) {
    throw new ProvisionError(
      'EKL_PROVISION_OUTPUTS_WRITE_FAILED',
      `cannot write the outputs file ${path} (${(err as NodeJS.ErrnoException).code ?? 'EIO'}); check --outputs-file is in a writable directory. AWS is already changed: run apply again (it changes nothing) to write the file`,
      { cause: err, source: 'config' },
    );
  }
}

/** Read and validate an outputs file (`--provision-outputs FILE`). */
export async function readOutputsFile(path: string): Promise<OutputsFile> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `outputs file ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'EIO'}); write it with \`ekslink provision apply --outputs-file ${path}\` and pass that path to --provision-outputs`,
      [],
      { cause: err },
    );
  }
  const origin = `outputs file ${path}`;
  return validateConfig(outputsFileSchema, parseConfigText(text, origin), origin);
}

/** Read an outputs file that must be of topology gcp-to-aws (the WireGuard hop, its kubeconfig). */
export async function readGcpToAwsOutputs(path: string, usedBy: string): Promise<GcpToAwsOutputsFile> {
  const file = await readOutputsFile(path);
  if (file.topology !== 'gcp-to-aws') {
    throw new ConfigError(
      `--provision-outputs ${path} is from topology ${file.topology} (deployment ${file.deployment}); ${usedBy} needs the outputs of a gcp-to-aws apply`,
    );
  }
  return file.outputs;
}
