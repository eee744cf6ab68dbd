/**
 * The kubeconfig `ekslink kubeconfig` writes, used by the real kubectl, through the real
 * ekslink proxy, to a TLS stand-in for the private EKS API on two loopback "ENIs". The proxy
 * routes on the SNI kubectl sends, which is the kubeconfig's tls-server-name.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../common/logger.js';
import { parseProxyConfig } from '../../proxy/config/schema.js';
import { ProxyServer } from '../../proxy/connection/server.js';
import { TestDnsServer } from '../../standins/dns-server.js';
import { EksStandin } from '../../standins/eks-standin.js';
import { createPki } from '../../standins/pki.js';
import { ekslink, fakeAwsCli, kubectl, TempDirs } from './helpers.js';

const EKS_HOST = 'fedcba9876543210fedcba9876543210.yl4.eu-west-1.eks.amazonaws.com';
const OTHER_HOST = '00000000000000000000000000000000.yl4.eu-west-1.eks.amazonaws.com';
/** Routed by the proxy but not in the server certificate: end-to-end TLS must reject it. */
const UNCERTIFIED_HOST = '11111111111111111111111111111111.yl4.eu-west-1.eks.amazonaws.com';
const ENIS = ['127.0.40.11', '127.0.40.12'];
const TOKEN = 'k8s-aws-v1.test-token-for-the-standin';
const GIT_VERSION = 'v1.31.4-eks-ekslink';

/** Every JSON line the proxy logs (pino's sink pattern). */
class LineSink extends Writable {
  readonly lines: Record<string, unknown>[] = [];
  readonly raw: string[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) {
      this.raw.push(line);
      this.lines.push(JSON.parse(line) as Record<string, unknown>);
    }
    done();
  }
}

const temp = new TempDirs();
let dir = '';
let caFile = '';
let dns: TestDnsServer;
let standin: EksStandin;
let proxy: ProxyServer;
let proxyPort = 0;
const sink = new LineSink();

async function writeKubeconfig(name: string, extra: string[]): Promise<string> {
  const out = join(dir, name);
  const result = await ekslink([
    'kubeconfig',
    '--topology',
    'gcp-to-aws',
    '--server',
    `127.0.0.1:${proxyPort}`,
    '--ca-file',
    caFile,
    '--cluster-name',
    'prod',
    '--out',
    out,
    ...extra,
  ]);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return out;
}

beforeAll(async () => {
  dir = await temp.make();
  const pki = await createPki({ dnsNames: [EKS_HOST, OTHER_HOST] });
  caFile = join(dir, 'ca.pem');
  await writeFile(caFile, pki.caCertPem);
  await writeFile(join(dir, 'token'), `${TOKEN}\n`, { mode: 0o600 });
  await writeFile(join(dir, 'wrong-token'), 'k8s-aws-v1.not-the-token\n', { mode: 0o600 });

  dns = await TestDnsServer.start();
  dns.set(EKS_HOST, { a: ENIS, ttlSec: 5 });
  dns.set(OTHER_HOST, { a: ENIS, ttlSec: 5 });
  dns.set(UNCERTIFIED_HOST, { a: ENIS, ttlSec: 5 });
  standin = await EksStandin.start({ addresses: ENIS, pki, token: TOKEN, gitVersion: GIT_VERSION });
  const config = parseProxyConfig({
    listen: { host: '127.0.0.1', port: 0 },
    routes: [
      { sni: EKS_HOST, upstreamPort: standin.port },
      { sni: UNCERTIFIED_HOST, upstreamPort: standin.port },
    ],
    allowedUpstreamCidrs: ['127.0.40.0/24'],
    dns: { servers: [dns.server], timeoutMs: 1000, tries: 1 },
    workers: 1,
  });
  proxy = new ProxyServer({ config, logger: createLogger({ level: 'info', destination: sink }) });
  proxyPort = (await proxy.listen()).port;
}, 30_000);

afterAll(async () => {
  await proxy?.drain(1000);
  proxy?.destroy();
  await standin?.close();
  await dns?.close();
  await temp.removeAll();
});

describe('kubectl through the ekslink proxy with an ekslink kubeconfig', () => {
  it('static-token variant: kubectl reaches the EKS API stand-in, certificate checked as the EKS hostname', async () => {
    const config = await writeKubeconfig('token.kubeconfig', [
      '--eks-hostname',
      EKS_HOST,
      '--token-file',
      join(dir, 'token'),
    ]);
    const before = ENIS.map((a) => standin.servedCount(a)).reduce((a, b) => a + b, 0);
    const version = await kubectl(['--kubeconfig', config, 'get', '--raw', '/version'], '');
    expect(version.stderr).toBe('');
    expect(JSON.parse(version.stdout)).toMatchObject({ gitVersion: GIT_VERSION });
    const list = await kubectl(
      [
        '--kubeconfig',
        config,
        '--cache-dir',
        join(dir, 'cache'),
        'get',
        'configmaps',
        '-n',
        'default',
        '-o',
        'json',
      ],
      '',
    );
    expect(list.code).toBe(0);
    expect((JSON.parse(list.stdout) as { kind: string }).kind).toBe('List');
    const after = ENIS.map((a) => standin.servedCount(a)).reduce((a, b) => a + b, 0);
    expect(after).toBeGreaterThan(before);

    // The proxy saw the route's SNI (kubectl sent tls-server-name) and never the token.
    const closes = sink.lines.filter((l) => l['sni'] === EKS_HOST);
    expect(closes.length).toBeGreaterThan(0);
    expect(sink.raw.join('\n')).not.toContain(TOKEN);
  });

  it('exec variant: kubectl runs aws eks get-token with the rendered arguments and uses its token', async () => {
    const aws = await fakeAwsCli(await temp.make(), TOKEN);
    const role = 'arn:aws:iam::123456789012:role/ekslink-metadata-plane';
    const config = await writeKubeconfig('exec.kubeconfig', [
      '--eks-hostname',
      EKS_HOST,
      '--region',
      'eu-west-1',
      '--role-arn',
      role,
    ]);
    const version = await kubectl(['--kubeconfig', config, 'get', '--raw', '/version'], aws.binDir);
    expect(version.stderr).toBe('');
    expect(JSON.parse(version.stdout)).toMatchObject({ gitVersion: GIT_VERSION });
    const calls = (await readFile(aws.callLog, 'utf8')).trim().split('\n');
    expect(calls).toContain(
      `--region eu-west-1 eks get-token --cluster-name prod --output json --role-arn ${role}`,
    );
  });

  it('a wrong token is refused by the API (the credential really is what gets kubectl in)', async () => {
    const config = await writeKubeconfig('wrong.kubeconfig', [
      '--eks-hostname',
      EKS_HOST,
      '--token-file',
      join(dir, 'wrong-token'),
    ]);
    const version = await kubectl(['--kubeconfig', config, 'get', '--raw', '/version'], '');
    expect(version.code).not.toBe(0);
    expect(version.stderr).toMatch(/Unauthorized/i);
  });

  it('a tls-server-name the proxy has no route for is refused before any upstream is dialled', async () => {
    const config = await writeKubeconfig('other.kubeconfig', [
      '--eks-hostname',
      OTHER_HOST,
      '--token-file',
      join(dir, 'token'),
    ]);
    const before = ENIS.map((a) => standin.servedCount(a)).reduce((a, b) => a + b, 0);
    const version = await kubectl(
      ['--kubeconfig', config, 'get', '--raw', '/version', '--request-timeout', '5s'],
      '',
    );
    expect(version.code).not.toBe(0);
    expect(version.stderr).toMatch(/unrecognized name|unrecognized_name/i);
    expect(ENIS.map((a) => standin.servedCount(a)).reduce((a, b) => a + b, 0)).toBe(before);
  });

  it('TLS is verified end to end: a routed name the cluster certificate does not cover fails in kubectl', async () => {
    const config = await writeKubeconfig('uncertified.kubeconfig', [
      '--eks-hostname',
      UNCERTIFIED_HOST,
      '--token-file',
      join(dir, 'token'),
    ]);
    const version = await kubectl(
      ['--kubeconfig', config, 'get', '--raw', '/version', '--request-timeout', '5s'],
      '',
    );
    expect(version.code).not.toBe(0);
    expect(version.stderr).toContain('x509');
    expect(version.stderr).toContain(UNCERTIFIED_HOST);
  });
});
