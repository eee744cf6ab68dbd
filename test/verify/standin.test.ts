import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TestDnsServer } from '../../standins/dns-server.js';
import { EksStandin } from '../../standins/eks-standin.js';
import { renderKubeconfig } from '../../standins/kubeconfig.js';
import { createPki, type TestPki } from '../../standins/pki.js';
import { serverLookup } from '../../verify/resolve.js';
import { runVerify } from '../../verify/runner.js';
import { resolveTarget } from '../../verify/target.js';

const HOST = '5e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b.gr7.eu-west-1.eks.amazonaws.com';
const ENIS = ['127.0.0.21', '127.0.0.22'];

let pki: TestPki;
let dns: TestDnsServer;
let dir: string;
let standin: EksStandin | undefined;

beforeAll(async () => {
  pki = await createPki({ dnsNames: [HOST] });
  dns = await TestDnsServer.start();
  dns.set(HOST, { a: ENIS });
  dir = await mkdtemp(join(tmpdir(), 'ekslink-verify-standin-'));
});
afterEach(async () => {
  await standin?.close();
  standin = undefined;
});
afterAll(async () => {
  await dns.close();
  await rm(dir, { recursive: true, force: true });
});

async function kubeconfigFor(port: number): Promise<string> {
  const path = join(dir, `kc-${port}.yaml`);
  await writeFile(
    path,
    renderKubeconfig({ server: `https://${HOST}:${port}`, caCertPem: pki.caCertPem, token: 'unused' }),
  );
  return path;
}

describe('verify against the EKS API stand-in (several ENIs)', () => {
  it('passes every hop with the target taken from a kubeconfig, and prints the stand-in gitVersion', async () => {
    standin = await EksStandin.start({ addresses: ENIS, pki, gitVersion: 'v1.31.2-eks-abc1234' });
    const target = await resolveTarget({ kubeconfig: await kubeconfigFor(standin.port) });
    const report = await runVerify({ target, timeoutMs: 3000, lookup: serverLookup([dns.server], 3000) });
    expect(report.ok).toBe(true);
    expect(report.hops.every((h) => h.status === 'ok')).toBe(true);
    expect(report.hops[0]!.details).toMatchObject({ addresses: ENIS });
    expect(report.hops[3]!.summary).toBe('GET /version -> 200, gitVersion v1.31.2-eks-abc1234');
    expect(standin.servedCount(ENIS[0]!)).toBe(2);
  });

  it('warns when one ENI is gone (rotation in progress) and still passes through the other', async () => {
    standin = await EksStandin.start({ addresses: ENIS, pki });
    await standin.removeEni(ENIS[0]!);
    const target = await resolveTarget({ kubeconfig: await kubeconfigFor(standin.port) });
    const report = await runVerify({ target, timeoutMs: 3000, lookup: serverLookup([dns.server], 3000) });
    expect(report.ok).toBe(true);
    expect(report.hops[1]).toMatchObject({ status: 'warn', code: 'EKL_VERIFY_TCP_PARTIAL' });
    expect(standin.servedCount(ENIS[1]!)).toBe(2);
  });

  it('reports 401 as a warning (path works, anonymous access off) when the stand-in requires a token', async () => {
    standin = await EksStandin.start({ addresses: ENIS, pki, token: 'sekret' });
    const target = await resolveTarget({ kubeconfig: await kubeconfigFor(standin.port) });
    const report = await runVerify({ target, timeoutMs: 3000, lookup: serverLookup([dns.server], 3000) });
    expect(report.ok).toBe(true);
    expect(report.hops[3]).toMatchObject({ status: 'warn', code: 'EKL_VERIFY_HTTP_UNAUTHORIZED' });
  });
});
