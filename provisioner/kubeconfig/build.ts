/** `ekslink kubeconfig`: validated input -> files read -> kubeconfig text -> written (0600) or returned. */
import { chmod, readFile, rename, writeFile } from 'node:fs/promises';
import { EkslinkError } from '../../common/errors.js';
import { loadCaPem } from './ca.js';
import { KUBECONFIG_ERROR_CODES } from './errors.js';
import type { KubeconfigInput } from './input.js';
import { renderKubeconfig, type KubeconfigAuth } from './render.js';

export async function buildKubeconfig(input: KubeconfigInput): Promise<string> {
  const caPem = await loadCaPem(input);
  const server = input.server ?? { host: input.eksHostname, port: 443 };
  return renderKubeconfig({
    topology: input.topology,
    server,
    eksHostname: input.eksHostname,
    caPem,
    auth: await auth(input),
    name: input.contextName ?? `ekslink-${input.clusterName}`,
  });
}

/** Write through a 0600 temporary file and rename: a token is never readable by others. */
export async function writeKubeconfig(path: string, text: string): Promise<void> {
  const temp = `${path}.tmp-${process.pid}`;
  try {
    await writeFile(temp, text, { mode: 0o600, flag: 'wx' });
    await chmod(temp, 0o600);
    await rename(temp, path);
  } catch (err) {
    throw new EkslinkError(
      KUBECONFIG_ERROR_CODES.writeFailed,
      `cannot write ${path} (${(err as NodeJS.ErrnoException).code ?? 'EIO'}); check --out is in a writable directory`,
      { cause: err, source: 'config' },
    );
  }
}

async function auth(input: KubeconfigInput): Promise<KubeconfigAuth> {
  if (input.tokenFile === undefined) {
    return {
      kind: 'exec',
      clusterName: input.clusterName,
      // The schema requires a region whenever there is no token file.
      region: input.region!,
      ...(input.roleArn === undefined ? {} : { roleArn: input.roleArn }),
      ...(input.awsProfile === undefined ? {} : { awsProfile: input.awsProfile }),
    };
  }
  let token: string;
  try {
    token = (await readFile(input.tokenFile, 'utf8')).trim();
  } catch (err) {
    throw new EkslinkError(
      KUBECONFIG_ERROR_CODES.tokenUnreadable,
      `cannot read --token-file ${input.tokenFile} (${(err as NodeJS.ErrnoException).code ?? 'EIO'})`,
      { cause: err, source: 'config' },
    );
  }
  if (token === '' || /\s/.test(token)) {
    throw new EkslinkError(
      KUBECONFIG_ERROR_CODES.tokenUnreadable,
      `--token-file ${input.tokenFile} must hold exactly one bearer token on one line`,
      { source: 'config' },
    );
  }
  return { kind: 'token', token };
}
