import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPki, type TestPki } from '../../standins/pki.js';
import { TestDnsServer } from '../../standins/dns-server.js';
import { EksStandin } from '../../standins/eks-standin.js';
import { renderKubeconfig } from '../../standins/kubeconfig.js';
import { startProxy, type TestProxy } from './helpers.js';

// This file's loopback block: 127.0.110.0/24.
const run = promisify(execFile);
const EKS = '5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c.gr7.us-east-1.eks.amazonaws.com';
const ENIS = ['127.0.110.11', '127.0.110.12'];
const TOKEN = 'kubectl-test-token';
let pki: TestPki;
let dns: TestDnsServer;
let standin: EksStandin;
let proxy: TestProxy;
let dir: string;
let kubeconfig: string;

beforeAll(async () => {
  pki = await createPki({ dnsNames: [EKS] });
  dns = await TestDnsServer.start({ host: '127.0.110.53' });
  standin = await EksStandin.start({ addresses: ENIS, pki, token: TOKEN, gitVersion: 'v1.31.2-eks-ekslink' });
  dns.set(EKS, { a: [ENIS[0]!] });
  proxy = await startProxy('127.0.110.1', {
    routes: [{ sni: EKS, upstreamPort: standin.port }],
    allowedUpstreamCidrs: ['127.0.110.0/24'],
    dns: { servers: [dns.server] },
  });
  dir = await mkdtemp(join(tmpdir(), 'ekslink-kubectl-'));
  kubeconfig = join(dir, 'kubeconfig');
  // The client dials the proxy's address but verifies the certificate for the EKS name, with
  // the cluster CA: exactly what the kubeconfig ekslink renders for a VPC endpoint does.
  await writeFile(
    kubeconfig,
    renderKubeconfig({
      server: `https://${proxy.host}:${proxy.port}`,
      tlsServerName: EKS,
      caCertPem: pki.caCertPem,
      token: TOKEN,
    }),
  );
});

afterAll(async () => {
  await proxy.close();
  await standin.close();
  await dns.close();
  await rm(dir, { recursive: true, force: true });
});

function kubectl(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run('/usr/bin/kubectl', ['--kubeconfig', kubeconfig, '--request-timeout=10s', ...args], {
    timeout: 30_000,
  });
}

describe('real kubectl through the proxy', () => {
  it('runs kubectl get --raw /version with end-to-end certificate verification', async () => {
    const { stdout } = await kubectl('get', '--raw', '/version');
    expect(JSON.parse(stdout)).toMatchObject({ gitVersion: 'v1.31.2-eks-ekslink' });
    expect(standin.servedCount(ENIS[0]!)).toBeGreaterThan(0);
    const line = await proxy.sink.waitFor((l) => l.event === 'connection' && l.reason === 'ok');
    expect(line).toMatchObject({ sni: EKS, upstreamAddress: `${ENIS[0]}:${standin.port}` });
  });

  it('follows the DNS answer to the other ENI on the next kubectl run', async () => {
    dns.set(EKS, { a: [ENIS[1]!] });
    const before = standin.servedCount(ENIS[1]!);
    const { stdout } = await kubectl('get', '--raw', '/version');
    expect(JSON.parse(stdout)).toMatchObject({ gitVersion: 'v1.31.2-eks-ekslink' });
    expect(standin.servedCount(ENIS[1]!)).toBeGreaterThan(before);
  });

  it('fails verification when the kubeconfig names a host the certificate does not cover', async () => {
    const bad = join(dir, 'bad-kubeconfig');
    await writeFile(
      bad,
      renderKubeconfig({
        server: `https://${proxy.host}:${proxy.port}`,
        caCertPem: pki.caCertPem,
        token: TOKEN,
      }),
    );
    // Without tls-server-name the SNI is the proxy's IP: the proxy refuses it (no SNI for IPs).
    const err = await run(
      '/usr/bin/kubectl',
      ['--kubeconfig', bad, '--request-timeout=5s', 'get', '--raw', '/version'],
      {
        timeout: 30_000,
      },
    ).catch((e: { stderr: string }) => e);
    expect((err as { stderr: string }).stderr).toMatch(/unrecognized name|certificate|x509/i);
  });
});
