/**
 * Run inside a network namespace by blackhole-netns.test.ts (as root): a DNS server, two
 * TLS "ENIs" and the proxy, all on the namespace's loopback with 10.77.0.0/24 addresses.
 * nftables drops every packet to one ENI that DNS still returns (a removed ENI goes
 * silent: SYNs get no answer). Prints one JSON line with what happened.
 */
import { execFileSync } from 'node:child_process';
import tls from 'node:tls';
import { createPki } from '../../standins/pki.js';
import { TestDnsServer } from '../../standins/dns-server.js';
import { ProxyMetrics } from '../../proxy/process/metrics.js';
import { EchoUpstreams, startProxy, whoServes } from './helpers.js';
import { parseMetrics } from './lifecycle-harness.js';

const EKS = 'bb00bb11cc22dd33ee44ff5566778899.gr7.us-east-1.eks.amazonaws.com';
const LIVE = '10.77.0.11';
const GONE = '10.77.0.12';
const CONNECT_TIMEOUT_MS = 300;
const FAILURE_MEMORY_MS = 3000;

function nft(script: string): void {
  execFileSync('nft', ['-f', '-'], { input: script });
}

const dropRule = (address: string): string =>
  `table inet ekltest {\n  chain input {\n    type filter hook input priority 0; policy accept;\n    ip daddr ${address} drop\n  }\n}\n`;

async function main(): Promise<void> {
  const pki = await createPki({ dnsNames: [EKS] });
  const dns = await TestDnsServer.start({ host: '10.77.0.53' });
  dns.set(EKS, { a: [LIVE, GONE] });
  const upstreams = await EchoUpstreams.start([LIVE, GONE], pki.serverCertPem, pki.serverKeyPem);
  const metrics = new ProxyMetrics({ routes: ['bh'], processMetrics: false });
  const proxy = await startProxy(
    '10.77.0.1',
    {
      routes: [{ sni: EKS, upstreamPort: upstreams.port, name: 'bh' }],
      allowedUpstreamCidrs: ['10.77.0.0/24'],
      dns: { servers: [dns.server], timeoutMs: 500, tries: 1 },
      upstream: { connectTimeoutMs: CONNECT_TIMEOUT_MS, failureMemoryMs: FAILURE_MEMORY_MS },
      connections: { keepAliveInitialDelayMs: 1000, keepAliveIntervalMs: 1000, keepAliveCount: 2 },
    },
    { observer: metrics },
  );

  // 1. GONE blackholed while DNS still returns it: 100 sequential connections.
  nft(dropRule(GONE));
  const durations: number[] = [];
  const served: string[] = [];
  let failed = 0;
  const t0 = performance.now();
  for (let i = 0; i < 100; i++) {
    const started = performance.now();
    try {
      served.push(await whoServes(proxy.host, proxy.port, EKS, pki.caCertPem, 5000));
    } catch {
      failed++;
    }
    durations.push(performance.now() - started);
  }
  const phase1Ms = performance.now() - t0;
  await proxy.sink.waitForConnections(100);
  const withFailures = proxy.sink.connections.filter((l) => l.upstreamFailures !== undefined);
  const m = parseMetrics(await metrics.registry.metrics());
  const timeoutMetric = m.get('ekslink_upstream_connect_failures_total{route="bh",reason="timeout"}');

  // 2. GONE answers again: once the failure memory has passed, it is used again.
  execFileSync('nft', ['delete', 'table', 'inet', 'ekltest']);
  await new Promise((r) => setTimeout(r, FAILURE_MEMORY_MS + 200));
  const after: string[] = [];
  for (let i = 0; i < 20; i++) after.push(await whoServes(proxy.host, proxy.port, EKS, pki.caCertPem, 5000));

  // 3. An established connection whose upstream goes silent: keepalive (1 s, then 2 probes
  //    1 s apart) ends it in about 3 s, with the errno on the log line.
  dns.set(EKS, { a: [LIVE] });
  await new Promise((r) => setTimeout(r, 150));
  const before = proxy.sink.connections.length;
  const socket = tls.connect({ host: proxy.host, port: proxy.port, servername: EKS, ca: pki.caCertPem });
  socket.on('error', () => {});
  await new Promise<void>((resolve) => socket.once('data', () => resolve()));
  nft(dropRule(LIVE));
  const k0 = performance.now();
  const line = await proxy.sink.waitFor(
    (l) => l.event === 'connection' && proxy.sink.connections.indexOf(l) >= before,
    20_000,
  );
  const keepaliveMs = performance.now() - k0;
  execFileSync('nft', ['delete', 'table', 'inet', 'ekltest']);
  socket.destroy();

  process.stdout.write(
    `${JSON.stringify({
      failed,
      phase1Ms,
      slow: durations.filter((d) => d >= CONNECT_TIMEOUT_MS).length,
      servedGone: served.filter((s) => s === GONE).length,
      servedLive: served.filter((s) => s === LIVE).length,
      withFailures: withFailures.map((l) => l.upstreamFailures),
      timeoutMetric,
      afterGone: after.filter((s) => s === GONE).length,
      keepalive: { ms: keepaliveMs, reason: line.reason, errno: line.errno },
    })}\n`,
  );
  await proxy.close();
  await upstreams.close();
  await dns.close();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${String((err as Error).stack ?? err)}\n`);
    process.exit(1);
  },
);
