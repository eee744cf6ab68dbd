import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);
export const NODE = resolve('node_modules/.bin/node');

export class TempDirs {
  private readonly dirs: string[] = [];
  async make(prefix = 'ekslink-kubeconfig-'): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    this.dirs.push(dir);
    return dir;
  }
  async removeAll(): Promise<void> {
    for (const dir of this.dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  }
}

/**
 * A stand-in for the AWS CLI on PATH: records every call and, for `eks get-token`, prints an
 * ExecCredential the way the real one does. kubectl must never reach the real `aws` (which
 * would look for credentials and could call AWS).
 */
export async function fakeAwsCli(dir: string, token: string): Promise<{ binDir: string; callLog: string }> {
  const binDir = join(dir, 'bin');
  const callLog = join(dir, 'aws-calls.log');
  const { mkdir } = await import('node:fs/promises');
  await mkdir(binDir, { recursive: true });
  const credential = JSON.stringify({
    kind: 'ExecCredential',
    apiVersion: 'client.authentication.k8s.io/v1beta1',
    spec: {},
    status: { expirationTimestamp: '2099-01-01T00:00:00Z', token },
  });
  const script = [
    '#!/bin/sh',
    `printf '%s\\n' "$*" >> '${callLog}'`,
    'case " $* " in',
    `  *" eks get-token "*) printf '%s\\n' '${credential}' ;;`,
    '  *) echo "fake aws: unexpected call: $*" >&2; exit 2 ;;',
    'esac',
  ].join('\n');
  await writeFile(join(binDir, 'aws'), `${script}\n`);
  await chmod(join(binDir, 'aws'), 0o755);
  return { binDir, callLog };
}

/** No HTTP proxies (everything is on loopback), no user kubeconfig, the fake aws first on PATH. */
function kubectlEnv(pathPrefix: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${pathPrefix}:${process.env.PATH ?? ''}`,
    KUBECONFIG: '/nonexistent',
  };
  for (const key of ['HTTPS_PROXY', 'https_proxy', 'HTTP_PROXY', 'http_proxy', 'ALL_PROXY', 'all_proxy'])
    delete env[key];
  return env;
}

export async function kubectl(
  args: string[],
  pathPrefix: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileP('kubectl', args, {
      timeout: 30_000,
      env: kubectlEnv(pathPrefix),
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

export async function ekslink(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileP(NODE, ['--import', 'tsx', 'cli/main.ts', ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
