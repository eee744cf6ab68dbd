/**
 * `npm run bench`: runs ekslink, HAProxy and nginx side by side in one run, on loopback,
 * doing the same job (SNI-routed TLS passthrough to an upstream found through DNS), and
 * reports each one's figures and the ratios between them. Bounded in count and time.
 *
 *   npm run bench -- [--phase-ms 5000] [--concurrency 32] [--max-connections 20000]
 *                    [--bulk-mib 64] [--bulk-concurrency 4] [--workers 2] [--json FILE]
 *                    [--peers direct,ekslink,haproxy,nginx]
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { TestDnsServer } from '../testbed/dns-server.js';
import { captureClientHello } from './client-hello.js';
import type { LoadResult, LoadSpec } from './load-client.js';
import { PEERS, type BenchRoutes, type Peer } from './peers.js';
import { startUpstream } from './upstream.js';

const { values: flags } = parseArgs({
  options: {
    'phase-ms': { type: 'string', default: '5000' },
    concurrency: { type: 'string', default: '32' },
    'max-connections': { type: 'string', default: '20000' },
    'bulk-mib': { type: 'string', default: '64' },
    'bulk-concurrency': { type: 'string', default: '4' },
    workers: { type: 'string', default: '2' },
    json: { type: 'string' },
    peers: { type: 'string', default: PEERS.map((p) => p.name).join(',') },
  },
});

function positiveInt(name: string, value: string | undefined, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) {
    throw new Error(
      `--${name} must be a whole number from 1 to ${max} (got ${JSON.stringify(value)}), e.g. --${name} 4`,
    );
  }
  return n;
}

const phaseMs = positiveInt('phase-ms', flags['phase-ms'], 60_000);
const concurrency = positiveInt('concurrency', flags.concurrency, 512);
const maxConnections = positiveInt('max-connections', flags['max-connections'], 200_000);
const bulkBytes = positiveInt('bulk-mib', flags['bulk-mib'], 1024) * 1024 * 1024;
const bulkConcurrency = positiveInt('bulk-concurrency', flags['bulk-concurrency'], 64);
const workers = positiveInt('workers', flags.workers, 64);

const selected = (flags.peers ?? '').split(',').map((s) => s.trim());
for (const name of selected) {
  if (!PEERS.some((p) => p.name === name)) {
    throw new Error(
      `--peers: unknown peer "${name}"; choose from ${PEERS.map((p) => p.name).join(', ')}, e.g. --peers ekslink,haproxy`,
    );
  }
}

const UPSTREAM_ADDRESS = '127.0.60.1';

function runLoadProcess(spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'bench/load-client.ts', JSON.stringify(spec)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => {
      if (code === 0) resolve(JSON.parse(out) as LoadResult);
      else reject(new Error(`load client exited with code ${code}`));
    });
  });
}

interface PeerFigures {
  peer: string;
  connectionsPerSec: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  rateFailed: number;
  /** DNS queries the peer sent per connection served in the rate phase. */
  dnsQueriesPerConnection: number;
  mibPerSec: number;
  bulkFailed: number;
}

async function measure(
  peer: Peer,
  hellos: { rate: Buffer; bulk: Buffer },
  dns: TestDnsServer,
): Promise<PeerFigures> {
  const base = { host: peer.host, bulkBytes, durationMs: phaseMs };
  // Warm-up: JIT, DNS caches where a peer has them, connection pools.
  await runLoadProcess({
    ...base,
    port: peer.portFor('rate'),
    helloBase64: hellos.rate.toString('base64'),
    mode: 'rate',
    concurrency,
    maxConnections: 500,
    durationMs: 2000,
  });
  // ekslink resolves per connection (sharing concurrent lookups); the others cache.
  const queriesBefore = dns.queryCount();
  const rate = await runLoadProcess({
    ...base,
    port: peer.portFor('rate'),
    helloBase64: hellos.rate.toString('base64'),
    mode: 'rate',
    concurrency,
    maxConnections,
  });
  const queries = dns.queryCount() - queriesBefore;
  const bulk = await runLoadProcess({
    ...base,
    port: peer.portFor('bulk'),
    helloBase64: hellos.bulk.toString('base64'),
    mode: 'bulk',
    concurrency: bulkConcurrency,
    maxConnections: bulkConcurrency * 4,
  });
  return {
    peer: peer.name,
    connectionsPerSec: (rate.completed / rate.elapsedMs) * 1000,
    latencyP50Ms: rate.latencyP50Ms,
    latencyP99Ms: rate.latencyP99Ms,
    rateFailed: rate.failed,
    dnsQueriesPerConnection: rate.completed > 0 ? queries / rate.completed : 0,
    mibPerSec: bulk.bytes / 1024 / 1024 / (bulk.elapsedMs / 1000),
    bulkFailed: bulk.failed,
  };
}

function table(rows: PeerFigures[]): string {
  const byName = new Map(rows.map((r) => [r.peer, r]));
  const ek = byName.get('ekslink');
  const ratio = (a: number | undefined, b: number | undefined) =>
    a !== undefined && b !== undefined && b > 0 ? `${(a / b).toFixed(2)}x` : '-';
  const header = [
    'peer',
    'conn/s',
    'p50 ms',
    'p99 ms',
    'MiB/s',
    'failed',
    'DNS q/conn',
    'ekslink/peer conn/s',
    'ekslink/peer MiB/s',
  ];
  const lines = rows.map((r) => [
    r.peer,
    r.connectionsPerSec.toFixed(0),
    r.latencyP50Ms.toFixed(2),
    r.latencyP99Ms.toFixed(2),
    r.mibPerSec.toFixed(0),
    String(r.rateFailed + r.bulkFailed),
    r.dnsQueriesPerConnection.toFixed(2),
    r.peer === 'ekslink' ? '1.00x' : ratio(ek?.connectionsPerSec, r.connectionsPerSec),
    r.peer === 'ekslink' ? '1.00x' : ratio(ek?.mibPerSec, r.mibPerSec),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] as string).length)));
  return [header, ...lines].map((l) => l.map((c, i) => c.padEnd(widths[i] as number)).join('  ')).join('\n');
}

async function main(): Promise<void> {
  const workDir = await mkdtemp(join(tmpdir(), 'ekslink-bench-'));
  const dns = await TestDnsServer.start();
  const rateUpstream = await startUpstream(UPSTREAM_ADDRESS, 'rate');
  const bulkUpstream = await startUpstream(UPSTREAM_ADDRESS, 'bulk');
  const routes: BenchRoutes = {
    rateSni: 'rate.bench.ekslink.internal',
    bulkSni: 'bulk.bench.ekslink.internal',
    upstreamHost: 'eni.bench.ekslink.internal',
    upstreamAddress: UPSTREAM_ADDRESS,
    ratePort: rateUpstream.port,
    bulkPort: bulkUpstream.port,
    upstreamCidr: '127.0.60.0/24',
    dnsServer: dns.server,
  };
  dns.set(routes.upstreamHost, { a: [UPSTREAM_ADDRESS], ttlSec: 1 });
  const hellos = {
    rate: await captureClientHello(routes.rateSni),
    bulk: await captureClientHello(routes.bulkSni),
  };
  console.log(
    `ekslink benchmark: ${phaseMs} ms per phase, rate: ${concurrency} concurrent (max ${maxConnections}), ` +
      `bulk: ${bulkConcurrency} x ${bulkBytes / 1024 / 1024} MiB x 4 rounds, ${workers} worker(s)/thread(s) per proxy, ` +
      `ClientHello ${hellos.rate.length} bytes`,
  );
  const rows: PeerFigures[] = [];
  try {
    for (const factory of PEERS.filter((p) => selected.includes(p.name))) {
      const why = factory.unavailable();
      if (why) {
        console.log(`skip ${factory.name}: ${why}`);
        continue;
      }
      const peer = await factory.start(routes, workDir, workers);
      try {
        const figures = await measure(peer, hellos, dns);
        rows.push(figures);
        console.log(
          `${figures.peer}: ${figures.connectionsPerSec.toFixed(0)} conn/s, ${figures.mibPerSec.toFixed(0)} MiB/s`,
        );
      } finally {
        await peer.stop();
      }
    }
  } finally {
    await rateUpstream.close();
    await bulkUpstream.close();
    await dns.close();
    await rm(workDir, { recursive: true, force: true });
  }
  console.log(`\n${table(rows)}`);
  console.log(
    '\nRatios above 1.00x mean ekslink is faster than that peer; all peers share the same 2 cores as the load.',
  );
  if (flags.json)
    await writeFile(flags.json, `${JSON.stringify({ phaseMs, concurrency, workers, rows }, null, 2)}\n`);
  const failures = rows.reduce((n, r) => n + r.rateFailed + r.bulkFailed, 0);
  process.exitCode = failures === 0 ? 0 : 1;
}

await main();
