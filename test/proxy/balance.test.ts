import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPki, type TestPki } from '../../standins/pki.js';
import { TestDnsServer } from '../../standins/dns-server.js';
import { EchoUpstreams, startProxy, whoServes } from './helpers.js';
import { ProxyProcess } from './lifecycle-harness.js';

// This file's loopback block: 127.0.122.0/24.
const EKS = 'aa00bb11cc22dd33ee44ff5566778899.gr7.us-east-1.eks.amazonaws.com';
const ENIS = ['127.0.122.11', '127.0.122.12', '127.0.122.13'];
const N = 60;
let pki: TestPki;
let dns: TestDnsServer;
let upstreams: EchoUpstreams;

beforeAll(async () => {
  pki = await createPki({ dnsNames: [EKS] });
  dns = await TestDnsServer.start({ host: '127.0.122.53' });
  upstreams = await EchoUpstreams.start(ENIS, pki.serverCertPem, pki.serverKeyPem);
});

afterAll(async () => {
  await upstreams.close();
  await dns.close();
});

const config = () => ({
  routes: [{ sni: EKS, upstreamPort: upstreams.port }],
  allowedUpstreamCidrs: ['127.0.122.0/24'],
  dns: { servers: [dns.server], timeoutMs: 500, tries: 1 },
});

/** N sequential connections through host:port; how many each address served. */
async function spread(host: string, port: number): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (let i = 0; i < N; i++) {
    const who = await whoServes(host, port, EKS, pki.caCertPem);
    counts.set(who, (counts.get(who) ?? 0) + 1);
  }
  return counts;
}

function expectBalanced(counts: Map<string, number>, addresses: readonly string[]): void {
  expect([...counts.keys()].sort()).toEqual([...addresses].sort());
  for (const a of addresses) expect(counts.get(a), a).toBeGreaterThanOrEqual(0.2 * N);
}

describe.each([
  ['a fixed', false, 2],
  ['a rotating', true, 3],
] as const)('balance with %s resolver', (_name, rotate, workerAddresses) => {
  it.each([2, 3])('1 worker, %i addresses: each gets at least 20 percent of 60 connections', async (n) => {
    const addresses = ENIS.slice(0, n);
    dns.rotate(rotate);
    dns.set(EKS, { a: addresses });
    const proxy = await startProxy('127.0.122.1', config());
    try {
      expectBalanced(await spread(proxy.host, proxy.port), addresses);
    } finally {
      await proxy.close();
    }
  });

  it(`2 workers, ${workerAddresses} addresses: each gets at least 20 percent of 60 connections`, async () => {
    const addresses = ENIS.slice(0, workerAddresses);
    dns.rotate(rotate);
    dns.set(EKS, { a: addresses });
    const proxy = await ProxyProcess.start(
      {
        ...config(),
        listen: { host: '127.0.0.1', port: 0 },
        health: { host: '127.0.0.1', port: 0 },
        drain: { graceSec: 0, deadlineSec: 1 },
        workers: 2,
      },
      mkdtempSync(join(tmpdir(), 'ekslink-balance-')),
    );
    try {
      const counts = await spread('127.0.0.1', proxy.port);
      expectBalanced(counts, addresses);
      // Both workers took part.
      while (proxy.connections().length < N) await new Promise((r) => setTimeout(r, 20));
      expect(new Set(proxy.connections().map((l) => l.pid)).size).toBe(2);
    } finally {
      await proxy.kill();
    }
  });
});
