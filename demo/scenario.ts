/**
 * The demo scenario: a private EKS API stand-in whose ENIs rotate, a DNS server that follows
 * them, the real ekslink proxy in front, and a real kubectl that must not notice. Everything
 * runs on loopback in one process tree and is cleaned up on every exit path.
 *
 * Over 300 lines on purpose: one scenario read top to bottom (set up, drive, tear down on
 * every exit path); each piece it drives already has its own file in demo/.
 */
import { randomBytes } from 'node:crypto';
import { promises as dnsPromises } from 'node:dns';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EkslinkError } from '../common/errors.js';
import { TestDnsServer } from '../standins/dns-server.js';
import { EksStandin } from '../standins/eks-standin.js';
import { createPki } from '../standins/pki.js';
import { BuiltinClient } from './builtin-client.js';
import type { ClientTarget, DemoClient, WatchHandle } from './client.js';
import { findKubectl, KubectlClient, kubectlRuns } from './kubectl-driver.js';
import { LiveView, type Output } from './live-view.js';
import { fetchProxyFigures, formatProxyFigures } from './proxy-metrics.js';
import { demoProxyConfig, ProxyProcess } from './proxy-process.js';
import { addressRange, defaultIntervalMs, planRotations, type RotationStep } from './rotation.js';
import { createState, recordError, recordEvent, recordRequest, type DemoState } from './state.js';
import { formatSummary, verdict } from './summary.js';

/** A realistic private EKS API hostname (cluster id, gr7 cell, region). */
export const DEMO_HOSTNAME = '3f1b2c9d0e8a7f6b5c4d3e2f1a0b9c8d.gr7.us-east-1.eks.amazonaws.com';
const ENI_PREFIX = '127.0.10';
const ENI_CIDR = '127.0.10.0/24';
const INITIAL_ENIS = addressRange(ENI_PREFIX, 1, 3);
const SPARE_ENIS = addressRange(ENI_PREFIX, 4, 60);
const DNS_TTL_SEC = 1;
const REQUEST_TIMEOUT_MS = 5000;

export interface DemoOptions {
  readonly durationMs: number;
  /** kubectl requests started per second. */
  readonly rate: number;
  /** false: the client dials the first resolved ENI directly (what breaks without ekslink). */
  readonly proxy: boolean;
  readonly client: 'auto' | 'kubectl' | 'builtin';
  /** The built CLI (dist/ekslink.mjs) that runs `proxy`. */
  readonly cliPath: string;
  readonly out: Output;
  readonly tty: boolean;
  readonly columns?: number;
  readonly signal?: AbortSignal;
  /** @default derived from the duration (three rotations in 30 s, at least two in 8 s) */
  readonly rotationIntervalMs?: number;
}

/** Runs the whole scenario and returns the exit code (0 only if nothing failed). */
export async function runDemo(o: DemoOptions): Promise<number> {
  const cleanups: (() => Promise<unknown> | void)[] = [];
  const cleanup = async (): Promise<void> => {
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch {
        // Cleanup goes on: one failing step must not leave the others running.
      }
    }
  };
  let proxyForExitHook: ProxyProcess | undefined;
  const exitHook = (): void => proxyForExitHook?.killNow();
  process.on('exit', exitHook);
  cleanups.push(() => void process.off('exit', exitHook));
  try {
    const dir = await mkdtemp(join(tmpdir(), 'ekslink-demo-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));

    const pki = await createPki({ dnsNames: [DEMO_HOSTNAME] });
    const token = `ekslink-demo-${randomBytes(12).toString('hex')}`;
    const dns = await TestDnsServer.start({ host: '127.0.0.1' });
    cleanups.push(() => dns.close());
    dns.set(DEMO_HOSTNAME, { a: INITIAL_ENIS, ttlSec: DNS_TTL_SEC });

    const standin = await startStandin(pki, token);
    cleanups.push(() => standin.close());

    const intervalMs = o.rotationIntervalMs ?? defaultIntervalMs(o.durationMs);
    const plan = planRotations({
      initial: INITIAL_ENIS,
      spare: SPARE_ENIS,
      durationMs: o.durationMs,
      intervalMs,
    });

    let target: ClientTarget;
    let proxy: ProxyProcess | undefined;
    let pinned: string | undefined;
    const base = { tlsServerName: DEMO_HOSTNAME, caCertPem: pki.caCertPem, token };
    if (o.proxy) {
      const config = demoProxyConfig({
        hostname: DEMO_HOSTNAME,
        upstreamPort: standin.port,
        dnsServer: dns.server,
        allowedCidr: ENI_CIDR,
      });
      proxy = await ProxyProcess.start({ config, dir, cliPath: o.cliPath });
      proxyForExitHook = proxy;
      const p = proxy;
      cleanups.push(() => p.stop());
      target = { ...base, server: `https://127.0.0.1:${proxy.listening.port}` };
    } else {
      pinned = await resolveOnce(dns.server);
      target = { ...base, server: `https://${pinned}:${standin.port}` };
    }

    const client = await makeClient(o.client, target, dir, o.out);
    cleanups.push(() => client.close());

    const metricsUrl = proxy ? `http://127.0.0.1:${proxy.listening.healthPort}/metrics` : undefined;
    writeIntro(o.out, { standin, dns, proxy, metricsUrl, client, target, pinned, plan, intervalMs });

    const state = createState({
      mode: o.proxy ? 'proxy' : 'no-proxy',
      client: client.kind,
      hostname: DEMO_HOSTNAME,
      target: target.server.replace(/^https:\/\//, ''),
      durationMs: o.durationMs,
      dnsAnswer: INITIAL_ENIS,
      enis: standin.enis,
    });
    if (metricsUrl) state.metricsUrl = metricsUrl;
    const view = new LiveView({ out: o.out, tty: o.tty, ...(o.columns ? { columns: o.columns } : {}) });
    const { interrupted, proxyError } = await drive({ o, state, view, standin, dns, client, proxy, plan });
    view.finish(state);
    const figures = metricsUrl && !proxyError ? await fetchProxyFigures(metricsUrl) : undefined;

    const runMs = Date.now() - state.startedAt;
    if (proxyError) recordError(state, proxyError.message.split('\n')[0] ?? proxyError.code);
    const v = proxyError ? { exitCode: 1, message: `FAIL: ${proxyError.code}` } : verdict(state, interrupted);
    o.out.write(formatSummary(state, v, runMs, figures ? formatProxyFigures(figures) : []));
    if (proxyError) o.out.write(`${proxyError.message}\n`);
    return v.exitCode;
  } finally {
    await cleanup();
  }
}

async function startStandin(pki: Awaited<ReturnType<typeof createPki>>, token: string): Promise<EksStandin> {
  try {
    return await EksStandin.start({ addresses: INITIAL_ENIS, pki, token });
  } catch (err) {
    throw new EkslinkError(
      'EKL_DEMO_ADDRESS_UNAVAILABLE',
      `could not listen on ${INITIAL_ENIS.join(', ')}: ${(err as Error).cause ?? err}. ` +
        'On Linux all of 127.0.0.0/8 is local; on macOS add loopback aliases (see docs/demo.md).',
      { cause: err },
    );
  }
}

/** What a client without ekslink does: resolve once, then keep dialling that address. */
async function resolveOnce(server: string): Promise<string> {
  const resolver = new dnsPromises.Resolver({ timeout: 1000, tries: 2 });
  resolver.setServers([server]);
  const [first] = await resolver.resolve4(DEMO_HOSTNAME);
  if (!first) throw new EkslinkError('EKL_DEMO_ADDRESS_UNAVAILABLE', `${DEMO_HOSTNAME} resolved to nothing`);
  return first;
}

async function makeClient(
  choice: DemoOptions['client'],
  target: ClientTarget,
  dir: string,
  out: Output,
): Promise<DemoClient> {
  if (choice === 'builtin') return new BuiltinClient(target);
  const kubectl = findKubectl();
  if (kubectl && (await kubectlRuns(kubectl))) return KubectlClient.create(kubectl, target, dir);
  if (choice === 'kubectl') {
    throw new EkslinkError(
      'EKL_DEMO_NO_CLIENT',
      'no runnable kubectl on PATH; install it or pass --client builtin',
      {
        source: 'usage',
      },
    );
  }
  out.write('kubectl was not found on PATH: using the built-in HTTPS client instead (same TLS settings).\n');
  return new BuiltinClient(target);
}

interface DriveContext {
  readonly o: DemoOptions;
  readonly state: DemoState;
  readonly view: LiveView;
  readonly standin: EksStandin;
  readonly dns: TestDnsServer;
  readonly client: DemoClient;
  readonly proxy: ProxyProcess | undefined;
  readonly plan: readonly RotationStep[];
}

/** The timed part: requests at a steady rate, one watch, rotations; ends at the duration. */
async function drive(c: DriveContext): Promise<{ interrupted: boolean; proxyError?: EkslinkError }> {
  const { o, state, view, standin, dns, client } = c;
  const timers: NodeJS.Timeout[] = [];
  const inFlight = new Set<Promise<void>>();
  const maxInFlight = Math.max(2, o.rate * 2);
  let ending = false;
  let proxyError: EkslinkError | undefined;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));

  const event = (text: string): void => view.event(recordEvent(state, text));

  // Requests: a fresh client invocation (new TCP + TLS connection) every 1/rate s.
  timers.push(
    setInterval(() => {
      if (ending) return;
      if (inFlight.size >= maxInFlight) {
        state.skipped++;
        return;
      }
      const p = client.request(REQUEST_TIMEOUT_MS).then((r) => recordRequest(state, r));
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
    }, 1000 / o.rate),
  );

  // Rotations, as EKS does them.
  for (const step of c.plan) {
    timers.push(
      setTimeout(() => {
        void (async () => {
          await standin.addEni(step.added);
          state.enis.add(step.added);
          dns.set(DEMO_HOSTNAME, { a: [...step.dnsAfter], ttlSec: DNS_TTL_SEC });
          state.dnsAnswer = step.dnsAfter;
          state.rotations++;
          event(`rotation ${step.index}: ENI ${step.added} up, DNS now ${step.dnsAfter.join(' ')}`);
        })().catch((err: Error) => event(`rotation ${step.index} failed: ${err.message}`));
      }, step.atMs),
    );
    if (step.removeAtMs < o.durationMs) {
      timers.push(
        setTimeout(() => {
          void standin.removeEni(step.removed).then(() => {
            state.enis.delete(step.removed);
            event(`rotation ${step.index}: ENI ${step.removed} deleted (its connections cut)`);
          });
        }, step.removeAtMs),
      );
    }
  }

  // One long-lived watch, re-opened whenever it ends (as a controller's informer does).
  let watch: WatchHandle | undefined;
  const openWatch = (): void => {
    if (ending) return;
    let gotEvent = false;
    watch = client.watch({
      onEvent: (_name, eni) => {
        if (!gotEvent) {
          gotEvent = true;
          state.watch.streams++;
        }
        state.watch.status = 'streaming';
        state.watch.events++;
        state.watch.lastEni = eni;
      },
      onEnd: (error) => {
        if (ending) return;
        if (error && !gotEvent) {
          state.watch.failedOpens++;
          state.watch.status = 'failing';
          state.watch.lastError = error;
          recordError(state, `watch: ${error}`);
          event(`watch could not open: ${error}`);
        } else {
          state.watch.endedByServer++;
          state.watch.status = 'reconnecting';
          event(`watch stream from ${state.watch.lastEni ?? '?'} ended by the server; re-opening`);
        }
        timers.push(setTimeout(openWatch, error && !gotEvent ? 1000 : 200));
      },
    });
  };
  openWatch();

  // The live view.
  timers.push(setInterval(() => view.refresh(state), o.tty ? 200 : 1000));

  const end = (): void => {
    ending = true;
    finish();
  };
  timers.push(setTimeout(end, o.durationMs));
  const onAbort = (): void => end();
  o.signal?.addEventListener('abort', onAbort, { once: true });
  c.proxy?.onUnexpectedExit((err) => {
    proxyError = err;
    end();
  });

  await finished;
  for (const t of timers) clearTimeout(t);
  watch?.stop();
  state.watch.status = 'stopped';
  await Promise.all(inFlight);
  o.signal?.removeEventListener('abort', onAbort);
  return { interrupted: o.signal?.aborted ?? false, ...(proxyError ? { proxyError } : {}) };
}

function writeIntro(
  out: Output,
  i: {
    standin: EksStandin;
    dns: TestDnsServer;
    proxy: ProxyProcess | undefined;
    metricsUrl: string | undefined;
    client: DemoClient;
    target: ClientTarget;
    pinned: string | undefined;
    plan: readonly RotationStep[];
    intervalMs: number;
  },
): void {
  const first = i.plan[0];
  const lines = [
    'ekslink demo: a private EKS API server whose ENIs rotate underneath a Kubernetes client.',
    `  EKS stand-in   ${DEMO_HOSTNAME}:${i.standin.port} on ${i.standin.enis.join(' ')} (CA made for this run)`,
    `  DNS server     ${i.dns.server} answers that name (TTL ${DNS_TTL_SEC} s)`,
    i.proxy
      ? `  ekslink proxy  127.0.0.1:${i.proxy.listening.port} (pid ${i.proxy.pid}, config ${i.proxy.configPath})`
      : `  NO PROXY       the client is pinned to ${i.pinned} (the first address DNS returned)`,
    ...(i.metricsUrl ? [`  metrics        ${i.metricsUrl}`] : []),
    `  client         ${i.client.kind === 'kubectl' ? 'kubectl' : 'built-in HTTPS client'} -> server ${i.target.server}, tls-server-name ${i.target.tlsServerName}`,
    first
      ? `  rotations      ${i.plan.length}, every ${(i.intervalMs / 1000).toFixed(1)} s: new ENI up, DNS switches, old ENI deleted ${((first.removeAtMs - first.atMs) / 1000).toFixed(1)} s later`
      : '  rotations      none (the run is shorter than one rotation interval)',
    '',
  ];
  out.write(`${lines.join('\n')}\n`);
}
