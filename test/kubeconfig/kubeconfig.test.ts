import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { validateConfig } from '../../common/config-file.js';
import { ConfigError, EkslinkError } from '../../common/errors.js';
import { buildKubeconfig } from '../../provisioner/kubeconfig/build.js';
import { kubeconfigInputSchema, parseServer } from '../../provisioner/kubeconfig/input.js';
import { createPki, type TestPki } from '../../standins/pki.js';
import { ekslink, fakeAwsCli, kubectl, TempDirs } from './helpers.js';

const EKS_HOST = '0123456789abcdef0123456789abcdef.gr7.us-east-1.eks.amazonaws.com';
const VPCE_HOST = 'vpce-0123456789abcdef0-abcd1234.vpce-svc-0123456789abcdef0.us-east-1.vpce.amazonaws.com';
const ROLE = 'arn:aws:iam::123456789012:role/ekslink-metadata-plane';

interface KubectlConfig {
  clusters: { name: string; cluster: Record<string, string> }[];
  users: {
    name: string;
    user: { exec?: { command: string; args: string[]; apiVersion: string; env: unknown }; token?: string };
  }[];
  contexts: { name: string; context: { cluster: string; user: string } }[];
  'current-context': string;
}

const temp = new TempDirs();
let pki: TestPki;
let dir: string;
let caFile: string;

beforeAll(async () => {
  pki = await createPki({ dnsNames: [EKS_HOST] });
  dir = await temp.make();
  caFile = join(dir, 'ca.pem');
  await writeFile(caFile, pki.caCertPem);
});
afterAll(() => temp.removeAll());

function input(overrides: Record<string, unknown> = {}) {
  return validateConfig(
    kubeconfigInputSchema,
    {
      topology: 'gcp-to-aws',
      server: VPCE_HOST,
      eksHostname: EKS_HOST,
      caFile,
      clusterName: 'prod',
      region: 'us-east-1',
      ...overrides,
    },
    'test input',
  );
}

function problemsOf(overrides: Record<string, unknown>): string {
  try {
    input(overrides);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.join('\n');
    throw err;
  }
  throw new Error('expected the input to be rejected');
}

describe('kubeconfig input', () => {
  it('parses server forms', () => {
    expect(parseServer('vpce-1.example.com')).toEqual({ host: 'vpce-1.example.com', port: 443 });
    expect(parseServer('https://Host.Example.com:8443/')).toEqual({ host: 'host.example.com', port: 8443 });
    expect(parseServer('127.0.0.1:6443')).toEqual({ host: '127.0.0.1', port: 6443 });
    expect(parseServer('[fd00::1]:443')).toEqual({ host: 'fd00::1', port: 443 });
    for (const bad of ['', 'http://x', 'a b', 'host:0', 'host:99999', '[1.2.3.4]:1', 'fd00::1']) {
      expect(parseServer(bad)).toBeUndefined();
    }
  });

  it('names every problem with the flag and a fix', () => {
    const text = problemsOf({
      topology: 'gcp',
      server: 'x y',
      caData: 'abc',
      clusterName: '-bad',
      region: 'useast',
      roleArn: 'role/x',
    });
    expect(text).toContain('topology: must be "gcp-to-aws"');
    expect(text).toContain('server: must be host or host:port');
    expect(text).toContain('clusterName: must be an EKS cluster name');
    expect(text).toContain('region: must be an AWS region code, e.g. us-east-1');
    expect(text).toContain('roleArn: must be an IAM role ARN');
  });

  it('takes the CA from exactly one place', () => {
    expect(problemsOf({ caData: 'abc' })).toContain(
      'caFile: give exactly one of --ca-file (PEM) or --ca-data',
    );
    expect(problemsOf({ caFile: undefined })).toContain(
      'caFile: give exactly one of --ca-file (PEM) or --ca-data',
    );
  });

  it('requires the VPC endpoint name for gcp-to-aws, and never the EKS hostname there', () => {
    expect(problemsOf({ server: undefined })).toContain('--server is required for gcp-to-aws');
    expect(problemsOf({ server: EKS_HOST.toUpperCase() })).toContain(
      'for gcp-to-aws, --server must be the VPC endpoint DNS name, not the EKS hostname',
    );
    expect(input({ topology: 'peered', server: undefined }).server).toBeUndefined();
  });

  it('keeps the static token out of stdout and away from exec-only flags', () => {
    expect(problemsOf({ tokenFile: '/x' })).toContain('out: with --token-file the kubeconfig holds a secret');
    expect(problemsOf({ tokenFile: '/x', out: '/y', roleArn: ROLE })).toContain(
      '--token-file replaces the exec plugin',
    );
    expect(problemsOf({ region: undefined })).toContain(
      '--region is required for the aws eks get-token exec plugin',
    );
  });
});

describe('kubeconfig content', () => {
  it('gcp-to-aws: dials the VPC endpoint, verifies as the EKS hostname, aws eks get-token with the role', async () => {
    const doc = parseYaml(
      await buildKubeconfig(input({ roleArn: ROLE, awsProfile: 'meta' })),
    ) as KubectlConfig;
    expect(doc.clusters[0]!.cluster).toEqual({
      server: `https://${VPCE_HOST}`,
      'tls-server-name': EKS_HOST,
      'certificate-authority-data': Buffer.from(pki.caCertPem.trimEnd() + '\n').toString('base64'),
    });
    expect(doc.users[0]!.user.exec).toMatchObject({
      apiVersion: 'client.authentication.k8s.io/v1beta1',
      command: 'aws',
      args: [
        '--region',
        'us-east-1',
        'eks',
        'get-token',
        '--cluster-name',
        'prod',
        '--output',
        'json',
        '--role-arn',
        ROLE,
      ],
      env: [{ name: 'AWS_PROFILE', value: 'meta' }],
    });
    expect(doc['current-context']).toBe('ekslink-prod');
  });

  it('peered: dials the EKS hostname itself by default', async () => {
    const doc = parseYaml(
      await buildKubeconfig(input({ topology: 'peered', server: undefined })),
    ) as KubectlConfig;
    expect(doc.clusters[0]!.cluster.server).toBe(`https://${EKS_HOST}`);
    expect(doc.clusters[0]!.cluster['tls-server-name']).toBe(EKS_HOST);
    expect(doc.users[0]!.user.exec!.args).not.toContain('--role-arn');
  });

  it('takes the CA as base64 (as DescribeCluster returns it) with the same result as the file', async () => {
    const fromFile = await buildKubeconfig(input());
    const fromData = await buildKubeconfig(
      input({ caFile: undefined, caData: Buffer.from(pki.caCertPem).toString('base64') }),
    );
    expect(fromData).toBe(fromFile);
  });

  it('refuses a CA that is missing, not PEM, or not a CA (the server certificate by mistake)', async () => {
    const leaf = join(dir, 'leaf.pem');
    await writeFile(leaf, pki.serverCertPem);
    await expect(buildKubeconfig(input({ caFile: join(dir, 'nope.pem') }))).rejects.toMatchObject({
      code: 'EKL_KUBECONFIG_CA_UNREADABLE',
    });
    await expect(
      buildKubeconfig(input({ caFile: undefined, caData: 'bm90IGEgY2VydA==' })),
    ).rejects.toMatchObject({
      code: 'EKL_KUBECONFIG_CA_INVALID',
      message: expect.stringContaining('holds no PEM certificate'),
    });
    const err = await buildKubeconfig(input({ caFile: leaf })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EkslinkError);
    expect((err as EkslinkError).message).toContain('is not a CA certificate');
  });
});

describe('the real kubectl reads it', () => {
  it('kubectl config view shows server, tls-server-name, CA and the exec plugin as written', async () => {
    const out = join(dir, 'exec.kubeconfig');
    const cli = await ekslink([
      'kubeconfig',
      '--topology',
      'gcp-to-aws',
      '--server',
      VPCE_HOST,
      '--eks-hostname',
      EKS_HOST,
      '--ca-file',
      caFile,
      '--cluster-name',
      'prod',
      '--region',
      'us-east-1',
      '--role-arn',
      ROLE,
      '--out',
      out,
    ]);
    expect(cli).toMatchObject({ code: 0 });
    expect((await stat(out)).mode & 0o777).toBe(0o600);
    // kubectl may run the exec plugin while viewing: give it the fake aws, never the real one.
    const aws = await fakeAwsCli(await temp.make(), 'unused');
    const view = await kubectl(['config', 'view', '--kubeconfig', out, '--raw', '-o', 'json'], aws.binDir);
    expect(view.code).toBe(0);
    const config = JSON.parse(view.stdout) as KubectlConfig;
    expect(config['current-context']).toBe('ekslink-prod');
    expect(config.contexts[0]!.context).toEqual({ cluster: 'ekslink-prod', user: 'ekslink-prod' });
    expect(config.clusters[0]!.cluster['server']).toBe(`https://${VPCE_HOST}`);
    expect(config.clusters[0]!.cluster['tls-server-name']).toBe(EKS_HOST);
    expect(Buffer.from(config.clusters[0]!.cluster['certificate-authority-data']!, 'base64').toString()).toBe(
      pki.caCertPem.trimEnd() + '\n',
    );
    expect(config.users[0]!.user.exec).toMatchObject({
      command: 'aws',
      apiVersion: 'client.authentication.k8s.io/v1beta1',
      args: [
        '--region',
        'us-east-1',
        'eks',
        'get-token',
        '--cluster-name',
        'prod',
        '--output',
        'json',
        '--role-arn',
        ROLE,
      ],
    });
  });

  it('writes to stdout without --out, and exits 2 on bad flags', async () => {
    const ok = await ekslink([
      'kubeconfig',
      '--topology',
      'peered',
      '--eks-hostname',
      EKS_HOST,
      '--ca-file',
      caFile,
      '--cluster-name',
      'prod',
      '--region',
      'us-east-1',
    ]);
    expect(ok.code).toBe(0);
    expect((parseYaml(ok.stdout) as KubectlConfig).clusters[0]!.cluster.server).toBe(`https://${EKS_HOST}`);
    const bad = await ekslink([
      'kubeconfig',
      '--topology',
      'gcp-to-aws',
      '--eks-hostname',
      EKS_HOST,
      '--cluster-name',
      'p',
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('error EKL_CONFIG_INVALID');
    expect(bad.stderr).toContain('--server: is required for gcp-to-aws');
  });

  it('the token variant is written 0600 and never printed', async () => {
    const tokenFile = join(dir, 'token');
    const token = 'k8s-aws-v1.breakglass-token-value';
    await writeFile(tokenFile, `${token}\n`, { mode: 0o600 });
    const out = join(dir, 'token.kubeconfig');
    const cli = await ekslink([
      'kubeconfig',
      '--topology',
      'gcp-to-aws',
      '--server',
      VPCE_HOST,
      '--eks-hostname',
      EKS_HOST,
      '--ca-file',
      caFile,
      '--cluster-name',
      'prod',
      '--token-file',
      tokenFile,
      '--out',
      out,
    ]);
    expect(cli.code).toBe(0);
    expect(cli.stdout + cli.stderr).not.toContain(token);
    expect((await stat(out)).mode & 0o777).toBe(0o600);
    expect((parseYaml(await readFile(out, 'utf8')) as KubectlConfig).users[0]!.user).toEqual({ token });
  });
});
