/**
 * `npm run bench:profile`: one ekslink proxy under a bounded real-TLS connection load, with
 * V8's CPU profiler on, and a summary of where its CPU went (self time by function and by
 * file). The benchmark says how much; this says where. Loopback only.
 *
 *   npm run bench:profile -- [--connections 3000] [--concurrency 16] [--workers 1] [--kind tls|plain]
 *                            [--mode rate|bulk|download] [--peer ekslink|naive] [--strace] [--out DIR]
 *
 * --strace counts the proxy's system calls (strace -c) instead of profiling its CPU.
 * Environment: EKL_NODE_FLAGS replaces --cpu-prof with other node flags (e.g. "--trace-gc";
 * "" for none; they come after the proxy's own, common/node-flags.ts, so they override them),
 * EKL_STRACE replaces "strace -f -c", EKL_PROXY_STDOUT appends the proxy's output to that
 * file, EKL_CONFIG (a JSON object) replaces top-level keys of the proxy's config.
 */
import { spawn } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { PROXY_NODE_FLAGS } from '../common/node-flags.js';
import { TestDnsServer } from '../standins/dns-server.js';
import { createPki } from '../standins/pki.js';
import { captureClientHello } from './client-hello.js';
import { LoadClient } from './load-process.js';
import { writeNaiveProxyScript } from './naive-script.js';
import { parseAblation } from './profile-ablation.js';
import { sampleTree } from './proc-stats.js';
import { startUpstream } from './upstream.js';

const { values: flags } = parseArgs({
  options: {
    connections: { type: 'string', default: '3000' },
    concurrency: { type: 'string', default: '16' },
    workers: { type: 'string', default: '1' },
    kind: { type: 'string', default: 'tls' },
    mode: { type: 'string', default: 'rate' },
    out: { type: 'string' },
    peer: { type: 'string', default: 'ekslink' },
    strace: { type: 'boolean', default: false },
  },
});

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}
interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

function summarize(profile: CpuProfile, top = 25): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const byFn = new Map<string, number>();
  const byFile = new Map<string, number>();
  for (const [id, us] of self) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const file = url.replace(/^.*\/(node_modules\/[^/]+|dist|[^/]+)\//, '$1/') || '(native)';
    byFn.set(
      `${functionName || '(anonymous)'} ${file}:${lineNumber + 1}`,
      (byFn.get(`${functionName || '(anonymous)'} ${file}:${lineNumber + 1}`) ?? 0) + us,
    );
    byFile.set(file, (byFile.get(file) ?? 0) + us);
  }
  const rows = (m: Map<string, number>): string =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(
        ([k, us]) =>
          `${((100 * us) / total).toFixed(1).padStart(5)} %  ${(us / 1000).toFixed(0).padStart(6)} ms  ${k}`,
      )
      .join('\n');
  return `total sampled ${(total / 1000).toFixed(0)} ms\n\nby function (self):\n${rows(byFn)}\n\nby file (self):\n${rows(byFile)}\n`;
}

/** EKL_NODE_FLAGS (space-separated) or --cpu-prof; profiles go to `out`. */
function nodeFlags(out: string): string[] {
  const flags = (process.env.EKL_NODE_FLAGS ?? '--cpu-prof').split(' ').filter((f) => f !== '');
  return flags.includes('--cpu-prof') ? [...flags, `--cpu-prof-dir=${out}`] : flags;
}

/** EKL_CONFIG's keys, or exit 2 naming what is wrong with it. */
function ablation(text: string | undefined): Record<string, unknown> {
  try {
    return parseAblation(text);
  } catch (err) {
    process.stderr.write(`bench:profile: ${(err as Error).message}\n`);
    process.exit(2);
  }
}

/** How long the proxy has to log that it listens. */
const LISTEN_TIMEOUT_MS = 30_000;

async function main(): Promise<void> {
  // Checked before anything is created: a bad EKL_CONFIG leaves nothing behind.
  const extra = ablation(process.env.EKL_CONFIG);
  const out = flags.out ?? (await mkdtemp(join(tmpdir(), 'ekslink-profile-')));
  await mkdir(out, { recursive: true });
  const kind = flags.kind === 'plain' ? 'plain' : 'tls';
  const host = 'api.bench.internal';
  const pki = await createPki({ dnsNames: [host] });
  const dns = await TestDnsServer.start({ host: '127.0.0.1' });
  dns.set(host, { a: ['127.0.0.1'], ttlSec: 5 });
  const upstream = await startUpstream('127.0.0.1', kind, pki);
  const config = {
    listen: { host: '127.0.0.1', port: 0, backlog: 4096 },
    routes: [{ sni: host, upstreamPort: upstream.port, name: 'bench' }],
    allowedUpstreamCidrs: ['127.0.0.0/8'],
    dns: { servers: [dns.server] },
    health: { host: '127.0.0.1', port: 0 },
    drain: { graceSec: 0, deadlineSec: 1 },
    workers: Number(flags.workers),
    // Ablations: what a setting costs, e.g. EKL_CONFIG='{"dns":{"servers":[...],"shareWindowMs":0}}'.
    ...extra,
  };
  const configPath = join(out, 'proxy.yaml');
  await writeFile(configPath, stringify(config));
  const naiveConfig = { dnsServer: dns.server, routes: { [host]: { host, port: upstream.port } } };
  const [peerFlags, args] =
    flags.peer === 'naive'
      ? [[], [await writeNaiveProxyScript(out), JSON.stringify(naiveConfig)]]
      : [PROXY_NODE_FLAGS, ['dist/ekslink.mjs', 'proxy', '--config', configPath]];
  const [command, ...commandArgs] = flags.strace
    ? [
        ...(process.env.EKL_STRACE ?? 'strace -f -c').split(' '),
        '-o',
        join(out, 'strace.txt'),
        process.execPath,
        ...peerFlags,
        ...args,
      ]
    : // EKL_NODE_FLAGS after the proxy's own: V8 takes the last value of a flag given twice.
      [process.execPath, ...peerFlags, ...nodeFlags(out), ...args];
  const child = spawn(command!, commandArgs, {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    // The port is read from the proxy's `listening` line (info): say so rather than wait forever.
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `the proxy wrote no listening line within ${LISTEN_TIMEOUT_MS / 1000} s (bench:profile reads its port from it)`,
        ),
      );
    }, LISTEN_TIMEOUT_MS);
    let buf = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (d: string) => {
      if (process.env.EKL_PROXY_STDOUT) appendFileSync(process.env.EKL_PROXY_STDOUT, d);
      buf += d;
      const m = /"event":"listening"[^\n]*"port":(\d+)|"listening":(\d+)/.exec(buf);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1] ?? m[2]));
      }
      if (buf.length > 1 << 20) buf = buf.slice(-4096);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`proxy exited ${code}`));
    });
  });
  const load = new LoadClient();
  const hello = await captureClientHello(host);
  const spec = {
    host: '127.0.0.1',
    port,
    mode: flags.mode as 'rate' | 'bulk' | 'download',
    tls: kind === 'tls' ? { servername: host, caPem: pki.caCertPem } : undefined,
    helloBase64: hello.toString('base64'),
    concurrency: Number(flags.concurrency),
    maxConnections: Number(flags.connections),
    durationMs: 120_000,
    bulkBytes: 64 << 20,
    roundTrips: 0,
  };
  const before = sampleTree(child.pid!);
  const result = await load.run(spec);
  const after = sampleTree(child.pid!);
  const cpuMs = (after.cpuSec - before.cpuSec) * 1000;
  console.log(
    `${result.completed} ${spec.mode} connections (${result.failed} failed) in ${result.elapsedMs.toFixed(0)} ms; ` +
      `proxy CPU ${cpuMs.toFixed(0)} ms = ${((cpuMs * 1000) / Math.max(1, result.completed)).toFixed(0)} µs/conn` +
      (spec.mode !== 'rate' ? `, ${(cpuMs / 1000 / (result.bytes / 1e9)).toFixed(2)} s/GB` : '') +
      `, RSS ${(after.rssBytes / 2 ** 20).toFixed(0)} MiB`,
  );
  await load.close();
  child.stdout!.resume();
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  await upstream.close();
  await dns.close();
  if (flags.strace) console.log(await readFile(join(out, 'strace.txt'), 'utf8'));
  for (const f of (await readdir(out)).filter((f) => f.endsWith('.cpuprofile'))) {
    const text = summarize(JSON.parse(await readFile(join(out, f), 'utf8')) as CpuProfile);
    await writeFile(join(out, `${f}.txt`), text);
    console.log(`\n== ${f}\n${text}`);
  }
  console.log(`profiles in ${out}`);
}

await main();
