import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestDnsServer } from '../../standins/dns-server.js';
import { EksStandin } from '../../standins/eks-standin.js';
import { createPki, type TestPki } from '../../standins/pki.js';
import { serverLookup } from '../../verify/resolve.js';
import { runVerify } from '../../verify/runner.js';
import type { VerifyTarget } from '../../verify/types.js';
import { startProxy, type TestProxy } from '../proxy/helpers.js';

const EKS = '7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f.gr7.us-east-1.eks.amazonaws.com';
const VPCE = 'vpce-0abc1234def567890-test.vpce-svc-0def.us-east-1.vpce.amazonaws.com';
const ENIS = ['127.0.77.21', '127.0.77.22'];

let pki: TestPki;
let dns: TestDnsServer;
let standin: EksStandin;
let proxy: TestProxy;

beforeAll(async () => {
  pki = await createPki({ dnsNames: [EKS] });
  dns = await TestDnsServer.start();
  standin = await EksStandin.start({ addresses: ENIS, pki, gitVersion: 'v1.31.2-eks-proxied' });
  dns.set(EKS, { a: ENIS });
  proxy = await startProxy('127.0.77.1', {
    routes: [{ sni: EKS, upstreamPort: standin.port, name: 'eks' }],
    allowedUpstreamCidrs: ['127.0.77.0/24'],
    dns: { servers: [dns.server], timeoutMs: 1000, tries: 1 },
  });
  // The VPC endpoint name answers the proxy's address, as the endpoint ENIs would.
  dns.set(VPCE, { a: [proxy.host] });
});
afterAll(async () => {
  await proxy?.close();
  await standin?.close();
  await dns?.close();
});

function verify(tlsServerName: string | undefined) {
  const target: VerifyTarget = {
    host: VPCE,
    port: proxy.port,
    ...(tlsServerName ? { tlsServerName } : {}),
    caPem: pki.caCertPem,
    source: 'test',
  };
  return runVerify({ target, timeoutMs: 3000, lookup: serverLookup([dns.server], 3000) });
}

describe('verify through the real ekslink proxy (topology 1 path on loopback)', () => {
  it('passes every hop with SNI = the EKS hostname, the proxy re-resolving it to the stand-in ENIs', async () => {
    const report = await verify(EKS);
    expect(report.hops.map((h) => h.status)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok']);
    expect(report.hops[3]!.summary).toBe('GET /version -> 200, gitVersion v1.31.2-eks-proxied');
    // The TLS and HTTP hops reach the stand-in through the proxy; the bare TCP probe shows in
    // the proxy log as one client_closed_early line (documented in docs/verify.md).
    const ok = await proxy.sink.waitFor((l) => l.reason === 'ok' && l.sni === EKS);
    expect(ENIS.map((a) => `${a}:${standin.port}`)).toContain(ok.upstreamAddress);
    await proxy.sink.waitFor((l) => l.reason === 'client_closed_early');
  });

  it('names the proxy refusal when the SNI is not routed (no tls-server-name: SNI is the endpoint name)', async () => {
    const report = await verify(VPCE);
    expect(report.failedHop).toBe('tls-handshake');
    expect(report.hops[2]).toMatchObject({ status: 'fail', code: 'EKL_VERIFY_TLS_SNI_REFUSED' });
    expect(report.hops[2]!.summary).toContain(`refused SNI "${VPCE}"`);
  });
});
