/**
 * Writing and reading the provision outputs file (`ekslink provision apply --outputs-file
 * FILE`, read back with `--provision-outputs FILE`). The schema lives in
 * common/provision-outputs.ts, shared with the CDK app that reads the same file.
 */
import { chmod, readFile, rename, writeFile } from 'node:fs/promises';
import { ConfigError } from '../common/errors.js';
import { parseOutputsFile, type GcpToAwsOutputsFile, type OutputsFile } from '../common/provision-outputs.js';
import { ProvisionError } from './errors.js';

export {
  OUTPUTS_FILE_FORMAT,
  OUTPUTS_FILE_VERSION,
  gcpToAwsOutputsSchema,
  outputsDocument,
  outputsFileSchema,
  type GcpToAwsOutputsFile,
  type OutputsFile,
} from '../common/provision-outputs.js';

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
  return parseOutputsFile(text, `outputs file ${path}`);
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
