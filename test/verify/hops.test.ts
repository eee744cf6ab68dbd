import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestDnsServer } from '../../standins/dns-server.js';
import { createPki, type TestPki } from '../../standins/pki.js';
import { serverLookup } from '../../verify/resolve.js';
import { runVerify } from '../../verify/runner.js';
import type { HopName, VerifyReport, VerifyTarget } from '../../verify/types.js';
import {
  alertListener,
  apiserverHandler,
  closedPort,
  finListener,
  httpsListener,
  plainHttpListener,
  resetListener,
  silentListener,
  type Listener,
} from './listeners.js';

const NAME = 'api.cluster.test';

let dns: TestDnsServer;
let pki: TestPki;
let otherNamePki: TestPki;
let otherCaPki: TestPki;
const open: Listener[] = [];

beforeAll(async () => {
  dns = await TestDnsServer.start();
  dns.set(NAME, { a: ['127.0.0.1'] });
  [pki, otherNamePki, otherCaPki] = await Promise.all([
    createPki({ dnsNames: [NAME] }),
    createPki({ dnsNames: ['other.cluster.test', 'www.other.test'] }),
    createPki({ dnsNames: [NAME] }),
  ]);
});

afterAll(async () => {
  await Promise.all(open.map((l) => l.close()));
  await dns.close();
});

async function track(l: Promise<Listener>): Promise<Listener> {
  const listener = await l;
  open.push(listener);
  return listener;
}

function target(port: number, overrides: Partial<VerifyTarget> = {}): VerifyTarget {
  return {
    host: NAME,
    port,
    tlsServerName: NAME,
    caPem: pki.caCertPem,
    caSource: 'test CA',
    source: 'test',
    ...overrides,
  };
}

function verify(t: VerifyTarget, timeoutMs = 2000): Promise<VerifyReport> {
  return runVerify({ target: t, timeoutMs, lookup: serverLookup([dns.server], timeoutMs) });
}

function hop(report: VerifyReport, name: HopName) {
  const found = report.hops.find((h) => h.hop === name);
  if (!found) throw new Error(`no hop ${name}`);
  return found;
}

function expectFailedAt(report: VerifyReport, name: HopName, code: string): void {
  expect(report.ok).toBe(false);
  expect(report.failedHop).toBe(name);
  expect(hop(report, name)).toMatchObject({ status: 'fail', code });
  const after = report.hops.slice(report.hops.findIndex((h) => h.hop === name) + 1);
  expect(after.every((h) => h.status === 'skipped')).toBe(true);
}

describe('verify hops against real loopback listeners', () => {
  it('passes every hop against an API-server-shaped HTTPS listener, with latency per hop and gitVersion', async () => {
    const l = await track(httpsListener(pki, apiserverHandler()));
    const report = await verify(target(l.port));
    expect(report.ok).toBe(true);
    expect(report.hops.map((h) => [h.hop, h.status])).toEqual([
      ['resolve', 'ok'],
      ['tcp-connect', 'ok'],
      ['tls-handshake', 'ok'],
      ['http-version', 'ok'],
      ['http-readyz', 'ok'],
    ]);
    expect(hop(report, 'resolve').details).toMatchObject({ addresses: ['127.0.0.1'] });
    expect(hop(report, 'http-version').details).toMatchObject({ gitVersion: 'v1.31.9-test' });
    expect(hop(report, 'tls-handshake').details).toMatchObject({ sni: NAME });
    for (const h of report.hops) expect(h.latencyMs).toBeGreaterThanOrEqual(0);
    expect(dns.queryCount(NAME)).toBeGreaterThan(0);
  });

  it('fails at resolve for a name that does not exist (.invalid, NXDOMAIN from the DNS server)', async () => {
    const report = await verify(target(443, { host: 'no-such-cluster.invalid' }));
    expectFailedAt(report, 'resolve', 'EKL_VERIFY_DNS_NOT_FOUND');
    expect(hop(report, 'resolve').summary).toContain('no-such-cluster.invalid does not resolve');
  });

  it('fails at resolve with DNS_FAILED when the server answers SERVFAIL', async () => {
    const failing = await TestDnsServer.start();
    failing.fail('servfail');
    try {
      const report = await runVerify({
        target: target(443),
        timeoutMs: 2000,
        lookup: serverLookup([failing.server], 2000),
      });
      expectFailedAt(report, 'resolve', 'EKL_VERIFY_DNS_FAILED');
      expect(hop(report, 'resolve').summary).toContain('ESERVFAIL');
    } finally {
      await failing.close();
    }
  });

  it('fails at resolve with DNS_TIMEOUT when the server never answers, and cancels its queries on the timeout', async () => {
    const silent = await TestDnsServer.start();
    silent.fail('drop');
    try {
      const report = await runVerify({
        target: target(443),
        timeoutMs: 400,
        lookup: serverLookup([silent.server], 400),
      });
      expectFailedAt(report, 'resolve', 'EKL_VERIFY_DNS_TIMEOUT');
      const resolve = hop(report, 'resolve');
      expect(resolve.summary).toContain('within 400 ms');
      expect(resolve.hint).toContain('did not answer');
      expect(silent.queryCount()).toBeGreaterThan(0);

      // The hop's abort cancels the c-ares queries at once instead of leaving them (and the CLI) running.
      const abort = new AbortController();
      const started = performance.now();
      const pending = serverLookup([silent.server], 4000)('api.cluster.test', abort.signal).then(
        () => 'resolved',
        (err: NodeJS.ErrnoException) => err.code,
      );
      setTimeout(() => abort.abort(), 50);
      expect(await pending).toBe('ECANCELLED');
      expect(performance.now() - started).toBeLessThan(1500);
    } finally {
      await silent.close();
    }
  });

  it('says the resolver answered (not that it was silent) on SERVFAIL and on REFUSED', async () => {
    const failing = await TestDnsServer.start();
    try {
      failing.fail('servfail');
      const servfail = hop(
        await runVerify({
          target: target(443),
          timeoutMs: 2000,
          lookup: serverLookup([failing.server], 2000),
        }),
        'resolve',
      );
      expect(servfail).toMatchObject({ status: 'fail', code: 'EKL_VERIFY_DNS_FAILED' });
      expect(servfail.hint).toContain('answered SERVFAIL');
      expect(servfail.hint).not.toContain('did not answer');

      failing.fail('refused');
      const refused = hop(
        await runVerify({
          target: target(443),
          timeoutMs: 2000,
          lookup: serverLookup([failing.server], 2000),
        }),
        'resolve',
      );
      expect(refused).toMatchObject({ status: 'fail', code: 'EKL_VERIFY_DNS_FAILED' });
      expect(refused.summary).toContain('EREFUSED');
      expect(refused.hint).toContain('refused the query');
    } finally {
      await failing.close();
    }
  });

  it('skips resolution for an IP literal', async () => {
    const l = await track(httpsListener(pki, apiserverHandler()));
    const report = await verify(target(l.port, { host: '127.0.0.1' }));
    expect(report.ok).toBe(true);
    expect(hop(report, 'resolve').summary).toContain('is an IP address');
  });

  it('fails at tcp-connect with TCP_REFUSED when nothing listens', async () => {
    const port = await closedPort();
    const report = await verify(target(port));
    expectFailedAt(report, 'tcp-connect', 'EKL_VERIFY_TCP_REFUSED');
    expect(hop(report, 'tcp-connect').summary).toContain(`127.0.0.1:${port} ECONNREFUSED`);
  });

  it('warns when only some resolved addresses accept TCP, and goes on through the one that does', async () => {
    const l = await track(httpsListener(pki, apiserverHandler(), '127.0.0.1'));
    dns.set('two-enis.cluster.test', { a: ['127.0.0.2', '127.0.0.1'] });
    const report = await verify(target(l.port, { host: 'two-enis.cluster.test' }));
    expect(report.ok).toBe(true);
    expect(hop(report, 'tcp-connect')).toMatchObject({ status: 'warn', code: 'EKL_VERIFY_TCP_PARTIAL' });
    expect(hop(report, 'tcp-connect').hint).toContain('127.0.0.2');
    expect(hop(report, 'tls-handshake').details).toMatchObject({ address: '127.0.0.1' });
  });

  it('fails at tls-handshake with SNI_REFUSED on an unrecognized_name alert', async () => {
    const l = await track(alertListener());
    const report = await verify(target(l.port));
    expectFailedAt(report, 'tls-handshake', 'EKL_VERIFY_TLS_SNI_REFUSED');
    expect(hop(report, 'tls-handshake').summary).toContain(`refused SNI "${NAME}"`);
    expect(hop(report, 'tls-handshake').summary).toContain('ekslink proxy');
  });

  it('fails at tls-handshake with UNKNOWN_CA when the certificate is from another CA, naming both', async () => {
    const l = await track(httpsListener(otherCaPki, apiserverHandler()));
    const report = await verify(target(l.port));
    expectFailedAt(report, 'tls-handshake', 'EKL_VERIFY_TLS_UNKNOWN_CA');
    const details = hop(report, 'tls-handshake').details as {
      trustedCas: string[];
      certificate: { issuer: string };
    };
    expect(details.trustedCas).toHaveLength(1);
    expect(details.certificate.issuer).toContain('ekslink test CA');
    expect(details.trustedCas[0]).not.toEqual(details.certificate.issuer);
  });

  it('fails at tls-handshake with NAME_MISMATCH naming the expected and the actual names', async () => {
    const l = await track(httpsListener(otherNamePki, apiserverHandler()));
    const report = await verify(target(l.port, { caPem: otherNamePki.caCertPem }));
    expectFailedAt(report, 'tls-handshake', 'EKL_VERIFY_TLS_NAME_MISMATCH');
    const h = hop(report, 'tls-handshake');
    expect(h.summary).toBe(
      `certificate name mismatch: expected ${NAME}, the certificate carries DNS:other.cluster.test, DNS:www.other.test`,
    );
    expect(h.details).toMatchObject({
      expectedName: NAME,
      actualNames: ['DNS:other.cluster.test', 'DNS:www.other.test'],
    });
  });

  it('fails at tls-handshake with CERT_EXPIRED naming when it expired', async () => {
    const day = 86_400_000;
    const expired = await createPki({
      dnsNames: [NAME],
      serverValidity: { notBefore: new Date(Date.now() - 3 * day), notAfter: new Date(Date.now() - day) },
    });
    const l = await track(httpsListener(expired, apiserverHandler()));
    const report = await verify(target(l.port, { caPem: expired.caCertPem }));
    expectFailedAt(report, 'tls-handshake', 'EKL_VERIFY_TLS_CERT_EXPIRED');
    const tls = hop(report, 'tls-handshake');
    expect(tls.summary).toMatch(/^certificate expired at \w{3} +\d+ [\d:]+ \d{4} GMT$/);
    expect(tls.details).toMatchObject({ error: 'CERT_HAS_EXPIRED' });
  });

  it('fails at tls-handshake with CERT_NOT_YET_VALID for a certificate from the future', async () => {
    const day = 86_400_000;
    const future = await createPki({
      dnsNames: [NAME],
      serverValidity: { notBefore: new Date(Date.now() + day), notAfter: new Date(Date.now() + 3 * day) },
    });
    const l = await track(httpsListener(future, apiserverHandler()));
    const report = await verify(target(l.port, { caPem: future.caCertPem }));
    expectFailedAt(report, 'tls-handshake', 'EKL_VERIFY_TLS_CERT_NOT_YET_VALID');
    expect(hop(report, 'tls-handshake').details).toMatchObject({ error: 'CERT_NOT_YET_VALID' });
  });

  it('fails at tls-handshake with TLS_CLOSED when the peer closes cleanly (FIN) after the ClientHello', async () => {
    const l = await track(finListener());
    const report = await verify(target(l.port));
    expectFailedAt(report, 'tls-handshake', 'EKL_VERIFY_TLS_CLOSED');
  });

  it('fails at tls-handshake with TLS_CLOSED when the peer resets after the ClientHello', async () => {
    const l = await track(resetListener());
    const report = await verify(target(l.port));
    expectFailedAt(report, 'tls-handshake', 'EKL_VERIFY_TLS_CLOSED');
  });

  it('fails at tls-handshake with NOT_TLS when plain HTTP answers', async () => {
    const l = await track(plainHttpListener());
    const report = await verify(target(l.port));
    expectFailedAt(report, 'tls-handshake', 'EKL_VERIFY_TLS_NOT_TLS');
  });

  it('fails at tls-handshake with TLS_TIMEOUT when the peer never answers', async () => {
    const l = await track(silentListener());
    const report = await verify(target(l.port), 300);
    expectFailedAt(report, 'tls-handshake', 'EKL_VERIFY_TLS_TIMEOUT');
    expect(hop(report, 'tls-handshake').latencyMs).toBeGreaterThanOrEqual(250);
  });

  it('warns (path works) on 403 from /version and /readyz', async () => {
    const l = await track(httpsListener(pki, apiserverHandler({ '/version': 403, '/readyz': 403 })));
    const report = await verify(target(l.port));
    expect(report.ok).toBe(true);
    expect(hop(report, 'http-version')).toMatchObject({ status: 'warn', code: 'EKL_VERIFY_HTTP_FORBIDDEN' });
    expect(hop(report, 'http-version').summary).toContain('network path works');
    expect(hop(report, 'http-version').details).toMatchObject({ status: 403, message: 'test says 403' });
    expect(hop(report, 'http-readyz')).toMatchObject({ status: 'warn', code: 'EKL_VERIFY_HTTP_FORBIDDEN' });
  });

  it('warns with UNAUTHORIZED on 401', async () => {
    const l = await track(httpsListener(pki, apiserverHandler({ '/version': 401, '/readyz': 401 })));
    const report = await verify(target(l.port));
    expect(hop(report, 'http-version')).toMatchObject({
      status: 'warn',
      code: 'EKL_VERIFY_HTTP_UNAUTHORIZED',
    });
  });

  it('fails at http-version with HTTP_STATUS on 500', async () => {
    const l = await track(httpsListener(pki, apiserverHandler({ '/version': 500 })));
    const report = await verify(target(l.port));
    expectFailedAt(report, 'http-version', 'EKL_VERIFY_HTTP_STATUS');
    expect(hop(report, 'http-version').summary).toBe('GET /version -> 500: test says 500');
  });

  it('fails at http-readyz with NOT_READY when /readyz answers 500', async () => {
    const l = await track(httpsListener(pki, apiserverHandler({ '/readyz': 500 })));
    const report = await verify(target(l.port));
    expectFailedAt(report, 'http-readyz', 'EKL_VERIFY_HTTP_NOT_READY');
    expect(hop(report, 'http-version').status).toBe('ok');
  });

  it('fails at http-version with BAD_BODY when something other than an API server answers 200', async () => {
    const l = await track(
      httpsListener(pki, (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<html>welcome</html>');
      }),
    );
    const report = await verify(target(l.port));
    expectFailedAt(report, 'http-version', 'EKL_VERIFY_HTTP_BAD_BODY');
  });
});
