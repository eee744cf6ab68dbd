import { once } from 'node:events';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseProxyConfig } from '../../proxy/config/schema.js';
import { createPki, type TestPki } from '../../standins/pki.js';
import { TestDnsServer } from '../../standins/dns-server.js';
import {
  closeServer,
  CountingObserver,
  EchoUpstreams,
  startProxy,
  whoServes,
  type TestProxy,
} from './helpers.js';

// This file's loopback block: 127.0.107.0/24 (and 127.0.0.1 / 127.0.108.1 as forbidden targets).
const EKS = 'aaaabbbbccccddddeeeeffff00001111.gr7.ap-south-1.eks.amazonaws.com';
const ENI = '127.0.107.11';
let pki: TestPki;
let dns: TestDnsServer;
let upstreams: EchoUpstreams;
let proxy: TestProxy;
const observer = new CountingObserver();
/** Listeners on forbidden loopback addresses, on the upstream port: they count accepts. */
const forbidden = new Map<string, { server: net.Server; accepts: number }>();

beforeAll(async () => {
  pki = await createPki({ dnsNames: [EKS] });
  dns = await TestDnsServer.start({ host: '127.0.107.53' });
  upstreams = await EchoUpstreams.start([ENI], pki.serverCertPem, pki.serverKeyPem);
  for (const address of ['127.0.0.1', '127.0.108.1']) {
    const entry = {
      server: net.createServer((s) => {
        entry.accepts++;
        s.destroy();
      }),
      accepts: 0,
    };
    entry.server.listen({ host: address, port: upstreams.port });
    await once(entry.server, 'listening');
    forbidden.set(address, entry);
  }
  proxy = await startProxy(
    '127.0.107.1',
    {
      routes: [{ sni: EKS, upstreamPort: upstreams.port }],
      allowedUpstreamCidrs: ['127.0.107.0/24'],
      dns: { servers: [dns.server], timeoutMs: 500, tries: 1, staleMaxAgeMs: 0, shareWindowMs: 0 },
    },
    { observer },
  );
});

afterAll(async () => {
  await proxy.close();
  await upstreams.close();
  for (const f of forbidden.values()) await closeServer(f.server);
  await dns.close();
});

const connect = (): Promise<string> => whoServes(proxy.host, proxy.port, EKS, pki.caCertPem, 5000);
const attempts = (): number => [...observer.connects.values()].reduce((a, b) => a + b, 0);

describe('upstream address policy', () => {
  it.each([
    ['the instance metadata service', ['169.254.169.254'], 'imds'],
    ['loopback outside the allowed block', ['127.0.0.1'], 'special'],
    ['another loopback address outside the allowed block', ['127.0.108.1'], 'special'],
    ['an address outside allowedUpstreamCidrs', ['10.9.9.9', '127.0.108.1'], 'outside'],
  ])('never dials %s', async (_what, answer, verdict) => {
    dns.set(EKS, { a: answer });
    const before = attempts();
    await expect(connect()).rejects.toThrow();
    const line = await proxy.sink.waitFor(
      (l) =>
        l.reason === 'no_allowed_address' &&
        String((l.error as { message: string }).message).includes(answer[0]!),
    );
    expect((line.error as { message: string }).message).toContain(`${answer[0]} (${verdict})`);
    expect(line.upstreamAddress).toBeUndefined();
    expect(attempts()).toBe(before);
    for (const f of forbidden.values()) expect(f.accepts).toBe(0);
  });

  it('dials only the allowed addresses of a mixed answer', async () => {
    dns.set(EKS, { a: ['127.0.0.1', '169.254.169.254', ENI, '127.0.108.1'] });
    const served = await Promise.all(Array.from({ length: 12 }, () => connect()));
    expect(new Set(served)).toEqual(new Set([ENI]));
    for (const f of forbidden.values()) expect(f.accepts).toBe(0);
  });

  it('keeps loopback and IMDS closed even when reloaded with 0.0.0.0/0', async () => {
    const input = {
      routes: [{ sni: EKS, upstreamPort: upstreams.port }],
      allowedUpstreamCidrs: ['0.0.0.0/0', '::/0'],
      allowPublicUpstreamCidrs: true,
      dns: { servers: [dns.server], timeoutMs: 500, tries: 1, staleMaxAgeMs: 0, shareWindowMs: 0 },
      listen: { host: proxy.host, port: 0 },
    };
    proxy.server.reload(parseProxyConfig(input));
    for (const answer of [['127.0.0.1'], ['169.254.169.254'], ['127.0.108.1']]) {
      dns.set(EKS, { a: answer });
      await expect(connect()).rejects.toThrow();
    }
    for (const f of forbidden.values()) expect(f.accepts).toBe(0);
    // The explicit loopback block still works after the reload back.
    proxy.server.reload(parseProxyConfig({ ...input, allowedUpstreamCidrs: ['127.0.107.0/24'] }));
    dns.set(EKS, { a: [ENI] });
    expect(await connect()).toBe(ENI);
  });

  it('never dials an AAAA answer that embeds IPv4 (mapped, compatible, translated, NAT64), even with ::/0', async () => {
    const base = {
      routes: [{ sni: EKS, upstreamPort: upstreams.port }],
      dns: {
        servers: [dns.server],
        timeoutMs: 500,
        tries: 1,
        staleMaxAgeMs: 0,
        shareWindowMs: 0,
        ipv6: true,
      },
      listen: { host: proxy.host, port: 0 },
    };
    proxy.server.reload(
      parseProxyConfig({
        ...base,
        allowedUpstreamCidrs: ['0.0.0.0/0', '::/0'],
        allowPublicUpstreamCidrs: true,
      }),
    );
    try {
      for (const address of [
        '::ffff:127.0.0.1',
        '::ffff:169.254.169.254',
        '::127.0.0.1', // IPv4-compatible (deprecated)
        '::ffff:0:a9fe:a9fe', // SIIT 169.254.169.254
        '64:ff9b::a9fe:a9fe',
        '64:ff9b:1::a9fe:a9fe', // local-use NAT64
      ]) {
        dns.set(EKS, { a: [], aaaa: [address] });
        const before = attempts();
        await expect(connect()).rejects.toThrow();
        const line = await proxy.sink.waitFor((l) =>
          String((l.error as { message?: string } | undefined)?.message).includes(address),
        );
        expect([address, line.reason]).toEqual([address, 'no_allowed_address']);
        expect(attempts()).toBe(before);
      }
      for (const f of forbidden.values()) expect(f.accepts).toBe(0);
    } finally {
      proxy.server.reload(parseProxyConfig({ ...base, allowedUpstreamCidrs: ['127.0.107.0/24'] }));
    }
  });
});
