/**
 * `npm run bench`: ekslink (default workers and `workers: 2`), HAProxy, nginx and a naive
 * Node passthrough side by side in one run, on loopback, doing the same job (SNI-routed
 * TLS passthrough to an upstream found through DNS), in two kinds of traffic: real TLS
 * handshakes to a node:tls upstream, and a replayed ClientHello with no crypto. Reports
 * each peer's CPU per connection and per GB (process tree, from /proc), idle RSS, RSS per
 * 10,000 idle connections, unloaded added latency, DNS queries per connection, and the
 * ratios between them. Every phase is bounded in count and time. See docs/benchmark.md.
 *
 *   npm run bench -- [--peers direct,ekslink,...] [--kinds tls,plain] [--repeat 3]
 *                    [--phase-ms 2000] [--concurrency 32] [--idle 10000] [--idle-tls 2000]
 *                    [--json FILE]
 *   npm run bench -- --report run1.json,run2.json,run3.json   # median of saved runs
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { TestDnsServer } from '../standins/dns-server.js';
import { createPki } from '../standins/pki.js';
import { captureClientHello } from './client-hello.js';
import { LoadClient } from './load-process.js';
import { measurePeer, type BenchSettings, type PeerFigures } from './measure.js';
import { PEERS, direct, type BenchRoutes, type Peer, type TrafficKind } from './peers.js';
import { fullReport, medianOfRuns } from './report.js';
import { startUpstream } from './upstream.js';

const { values: flags } = parseArgs({
  options: {
    peers: { type: 'string', default: PEERS.map((p) => p.name).join(',') },
    kinds: { type: 'string', default: 'tls,plain' },
    repeat: { type: 'string', default: '3' },
    'phase-ms': { type: 'string', default: '1500' },
    concurrency: { type: 'string', default: '32' },
    'max-connections': { type: 'string', default: '20000' },
    'bulk-mib': { type: 'string', default: '64' },
    'bulk-concurrency': { type: 'string', default: '2' },
    'bulk-rounds': { type: 'string', default: '2' },
    'latency-connections': { type: 'string', default: '100' },
    'round-trips': { type: 'string', default: '1000' },
    warmup: { type: 'string', default: '200' },
    'warmup-jit': { type: 'string', default: '4000' },
    idle: { type: 'string', default: '5000' },
    'idle-tls': { type: 'string', default: '3000' },
    threads: { type: 'string', default: String(Math.max(1, cpus().length)) },
    json: { type: 'string' },
    report: { type: 'string' },
  },
});

function wholeNumber(name: string, value: string | undefined, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    console.error(
      `--${name} must be a whole number from ${min} to ${max} (got ${JSON.stringify(value)}), e.g. --${name} ${Math.max(min, 1)}`,
    );
    process.exit(2);
  }
  return n;
}

function list<T extends string>(name: string, value: string | undefined, allowed: readonly T[]): T[] {
  const items = (value ?? '').split(',').map((s) => s.trim());
  for (const item of items) {
    if (!allowed.includes(item as T)) {
      console.error(
        `--${name}: unknown value "${item}"; choose from ${allowed.join(', ')}, e.g. --${name} ${allowed.slice(0, 2).join(',')}`,
      );
      process.exit(2);
    }
  }
  return items as T[];
}

interface RunFile {
  readonly meta: Record<string, unknown>;
  readonly settings: BenchSettings;
  readonly peers: PeerFigures[];
}

/** `--report a.json,b.json`: the median of saved runs, no measuring. */
async function report(files: string[]): Promise<void> {
  const runs = await Promise.all(files.map(async (f) => JSON.parse(await readFile(f, 'utf8')) as RunFile));
  const kinds = [...new Set(runs.flatMap((r) => r.settings.kinds))];
  console.log(`Median of ${runs.length} run(s): ${files.join(', ')}\n`);
  console.log(fullReport(medianOfRuns(runs.map((r) => r.peers)), kinds));
}

function saveRun(path: string, run: RunFile): Promise<void> {
  return writeFile(path, `${JSON.stringify(run, null, 2)}\n`);
}

const FD_SLACK = 500;

function openFileLimit(): number {
  const line = readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Max open files'));
  const soft = Number(line?.split(/\s+/)[3]);
  return Number.isFinite(soft) ? soft : 1024;
}

/**
 * A proxy holding N idle connections needs 2N descriptors (client side and upstream side).
 * Children inherit this process's limit, so raise it here (prlimit: root or a high enough
 * hard limit); where that fails, hold fewer connections and say so.
 */
function ensureOpenFiles(wanted: number): number {
  const need = 2 * wanted + FD_SLACK;
  if (openFileLimit() < need) {
    try {
      execFileSync('prlimit', ['--pid', String(process.pid), `--nofile=${need}:${need}`], {
        stdio: 'ignore',
      });
    } catch {
      // Not allowed or no prlimit: scaled down below.
    }
  }
  const limit = openFileLimit();
  return limit >= need ? wanted : Math.max(0, Math.floor((limit - FD_SLACK) / 2));
}

/** The first line a tool prints about its version (nginx prints it on stderr). */
function version(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) return `${cmd} not installed`;
  return `${r.stdout}${r.stderr}`.split('\n')[0]?.trim() ?? cmd;
}

const UPSTREAM_ADDRESS = '127.0.60.1';

async function main(): Promise<void> {
  if (flags.report !== undefined) return report(flags.report.split(','));
  const selected = list(
    'peers',
    flags.peers,
    PEERS.map((p) => p.name),
  );
  const kinds = list<TrafficKind>('kinds', flags.kinds, ['tls', 'plain']);
  const requestedIdle = {
    plain: wholeNumber('idle', flags.idle, 0, 50_000),
    tls: wholeNumber('idle-tls', flags['idle-tls'], 0, 50_000),
  };
  const maxIdle = ensureOpenFiles(Math.max(requestedIdle.plain, requestedIdle.tls));
  const idle = {
    plain: Math.min(requestedIdle.plain, maxIdle),
    tls: Math.min(requestedIdle.tls, maxIdle),
  };
  const settings: BenchSettings = {
    kinds,
    repeat: wholeNumber('repeat', flags.repeat, 1, 20),
    phaseMs: wholeNumber('phase-ms', flags['phase-ms'], 200, 60_000),
    concurrency: wholeNumber('concurrency', flags.concurrency, 1, 512),
    maxConnections: wholeNumber('max-connections', flags['max-connections'], 1, 200_000),
    bulkBytes: wholeNumber('bulk-mib', flags['bulk-mib'], 1, 1024) * 1024 * 1024,
    bulkConcurrency: wholeNumber('bulk-concurrency', flags['bulk-concurrency'], 1, 64),
    bulkRounds: wholeNumber('bulk-rounds', flags['bulk-rounds'], 1, 64),
    latencyConnections: wholeNumber('latency-connections', flags['latency-connections'], 10, 10_000),
    roundTrips: wholeNumber('round-trips', flags['round-trips'], 10, 100_000),
    warmupConnections: wholeNumber('warmup', flags.warmup, 1, 10_000),
    jitWarmupConnections: wholeNumber('warmup-jit', flags['warmup-jit'], 0, 100_000),
    idle,
  };
  const threads = wholeNumber('threads', flags.threads, 1, 64);

  const workDir = await mkdtemp(join(tmpdir(), 'ekslink-bench-'));
  const routes0 = {
    plainSni: 'plain.bench.ekslink.internal',
    tlsSni: 'tls.bench.ekslink.internal',
    upstreamHost: 'eni.bench.ekslink.internal',
  };
  const pki = await createPki({ dnsNames: [routes0.tlsSni] });
  const dns = await TestDnsServer.start();
  const plainUpstream = await startUpstream(UPSTREAM_ADDRESS, 'plain', pki);
  const tlsUpstream = await startUpstream(UPSTREAM_ADDRESS, 'tls', pki);
  const routes: BenchRoutes = {
    ...routes0,
    upstreamAddress: UPSTREAM_ADDRESS,
    plainPort: plainUpstream.port,
    tlsPort: tlsUpstream.port,
    upstreamCidr: '127.0.60.0/24',
    dnsServer: dns.server,
  };
  dns.set(routes.upstreamHost, { a: [UPSTREAM_ADDRESS], ttlSec: 1 });
  const hello = await captureClientHello(routes.plainSni);
  const meta = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    haproxy: version('haproxy', ['-v']),
    nginx: version('nginx', ['-v']),
    loadAverageAtStart: loadavg()[0] ?? 0,
    threads,
  };
  console.log(
    `ekslink benchmark on ${meta.cpus} CPU(s), Node ${meta.node}, ${meta.haproxy}, ${meta.nginx}; ` +
      `load average ${meta.loadAverageAtStart.toFixed(2)} at start`,
  );
  console.log(
    `kinds ${kinds.join(', ')}; each CPU and latency phase ${settings.repeat}x (median); rate ${settings.phaseMs} ms at ` +
      `${settings.concurrency} concurrent; bulk ${settings.bulkConcurrency} x ${settings.bulkRounds} x ${settings.bulkBytes / 1024 / 1024} MiB; ` +
      `latency ${settings.latencyConnections} sequential connections, ${settings.roundTrips} echoes; ` +
      `HAProxy/nginx ${threads} thread(s)/worker(s); replayed ClientHello ${hello.length} bytes`,
  );
  for (const kind of kinds) {
    if (idle[kind] < requestedIdle[kind]) {
      console.log(
        `idle ${kind}: holding ${idle[kind]} connections, not ${requestedIdle[kind]}: the open-file limit (${openFileLimit()}) ` +
          `could not be raised; RSS per 10k is scaled from ${idle[kind]}`,
      );
    }
  }

  const peers: PeerFigures[] = [];
  let measureFailures = 0;
  const load = new LoadClient();
  // ekslink runs in its own process group (the demo's launcher): an interrupted run must
  // not leave it behind.
  let running: Peer | undefined;
  process.on('exit', () => running?.kill());
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(1));
  let directPeer: Peer | undefined;
  try {
    const peerOptions = { workDir, threads, maxConnections: maxIdle + 100, openFiles: openFileLimit() };
    directPeer = await direct.start(routes, peerOptions);
    for (const factory of PEERS.filter((p) => selected.includes(p.name))) {
      const why = factory.unavailable();
      if (why) {
        console.log(`skip ${factory.name}: ${why}`);
        continue;
      }
      const started = performance.now();
      const peer = factory === direct ? directPeer : await factory.start(routes, peerOptions);
      try {
        const figures = await measurePeer(
          {
            settings,
            progress: (line) =>
              process.stderr.write(`  ${line} (${((performance.now() - started) / 1000).toFixed(1)} s)\n`),
            dns,
            load,
            helloBase64: { plain: hello.toString('base64'), tls: '' },
            tls: { servername: routes.tlsSni, caPem: pki.caCertPem },
            direct: directPeer,
            upstreamConnections: () => plainUpstream.openConnections + tlsUpstream.openConnections,
          },
          peer,
        );
        peers.push(figures);
        // Saved after every peer: a run stopped halfway keeps what it measured.
        if (flags.json) await saveRun(flags.json, { meta, settings, peers });
        const t = figures.kinds.tls ?? figures.kinds.plain;
        console.log(
          `${figures.peer}: ${t?.cpuUsPerConnection?.toFixed(0) ?? '-'} µs/conn, ${t?.cpuSecPerGb?.toFixed(2) ?? '-'} s/GB up, ${t?.cpuSecPerGbDown?.toFixed(2) ?? '-'} down ` +
            `(${kinds[0]}), idle RSS ${figures.idleRssMiB?.toFixed(0) ?? '-'} MiB, ` +
            `${((performance.now() - started) / 1000).toFixed(0)} s`,
        );
        for (const e of figures.errors) console.log(`  ${figures.peer} ${e}`);
      } catch (err) {
        // One peer's failure must not lose the others' figures.
        measureFailures += 1;
        console.log(`${peer.name}: measurement failed, no figures: ${(err as Error).message}`);
      } finally {
        process.stderr.write(`  stopping ${peer.name}\n`);
        await peer.stop();
        running = undefined;
      }
    }
  } finally {
    await load.close();
    await plainUpstream.close();
    await tlsUpstream.close();
    await dns.close();
    await rm(workDir, { recursive: true, force: true });
  }
  const loadAverageAtEnd = loadavg()[0] ?? 0;
  console.log(`\nload average ${loadAverageAtEnd.toFixed(2)} at end\n`);
  console.log(fullReport(peers, kinds));
  if (flags.json) await saveRun(flags.json, { meta: { ...meta, loadAverageAtEnd }, settings, peers });
  const failures = peers.reduce(
    (n, p) => n + Object.values(p.kinds).reduce((m, k) => m + (k?.failed ?? 0), 0),
    0,
  );
  process.exitCode = failures === 0 && measureFailures === 0 ? 0 : 1;
}

await main();
