/**
 * The data plane as node:cluster workers, each listening on the same port with SO_REUSEPORT
 * so the kernel spreads connections and none passes through the primary (port 0: the first
 * worker picks the port, the others join it). The primary keeps the health port, the prober
 * and the signal handling; workers ignore signals and follow the primary's orders over IPC
 * (worker-ipc.ts, worker.ts), so `systemctl stop` (which signals the whole cgroup) still
 * drains in one coordinated sequence. /metrics sums every process, the exited ones included.
 */
import cluster from 'node:cluster';
import type { AddressInfo } from 'node:net';
import { AggregatorRegistry } from 'prom-client';
import type { Logger } from '../../common/logger.js';
import type { ProxyConfig } from '../config/schema.js';
import { compileConfig } from '../config/compile.js';
import { Resolver } from '../upstream/resolver.js';
import type { DataPlane } from './data-plane.js';
import type { MetricsSnapshot } from './metrics.js';
import { bundleFile } from './bundle-file.js';
import { WorkerHandle, type Op, type Request } from './worker-ipc.js';

/** A /metrics scrape must not hang on one stuck worker. */
const METRICS_TIMEOUT_MS = 2000;
/** After destroy, how long a worker gets to exit before it is killed. */
const EXIT_TIMEOUT_MS = 5000;
/** A worker that lived shorter than this counts as a crash loop for the respawn backoff. */
const STABLE_AFTER_MS = 60_000;
const MAX_RESPAWN_DELAY_MS = 30_000;

/** Immediately for a first crash; then 1 s, 2 s, 4 s... up to 30 s while workers keep dying young. */
export function respawnDelayMs(quickExits: number): number {
  return quickExits <= 1 ? 0 : Math.min(MAX_RESPAWN_DELAY_MS, 1000 * 2 ** (quickExits - 2));
}

/** `config.workers` processes forked from this one, each running a ProxyServer on the shared port. */
export class ClusterDataPlane implements DataPlane {
  readonly resolver: Resolver;
  private config: ProxyConfig;
  /** The data port every worker listens on (known once the first worker has bound). */
  private port = 0;
  private readonly workers = new Set<WorkerHandle>();
  private stopping = false;
  /** Each live worker's snapshot from the last scrape. */
  private readonly lastSnapshots = new Map<WorkerHandle, MetricsSnapshot>();
  /**
   * Counters and histograms of workers that have exited, as of their last scrape. Without
   * them a crash would take its worker's counts out of the group's totals, and Prometheus
   * would read the drop as a counter reset and count the survivors' totals again.
   */
  private retired: MetricsSnapshot[] = [];
  /** Workers in a row that died young (respawn backoff). */
  private quickExits = 0;
  private respawnTimer: NodeJS.Timeout | undefined;

  constructor(
    config: ProxyConfig,
    private readonly logger: Logger,
  ) {
    this.config = config;
    this.resolver = new Resolver(compileConfig(config).resolver);
  }

  async start(): Promise<AddressInfo> {
    // The bundle's worker entry; from source, workers run the same script as the primary.
    const entry = bundleFile('proxy-worker.mjs');
    if (entry !== undefined) cluster.setupPrimary({ exec: entry, args: [] });
    // Each worker listens on its own socket with SO_REUSEPORT and the kernel spreads new
    // connections across them: no accept-and-pass hop through the primary (cluster's
    // round-robin costs the primary a syscall and an IPC message per connection). The
    // first worker binds the configured port (0 picks one); the others join that port.
    const first = await this.spawn(this.config.listen.port);
    this.port = first.port;
    await Promise.all(Array.from({ length: this.config.workers - 1 }, () => this.spawn(first.port)));
    return first;
  }

  private async spawn(port: number): Promise<AddressInfo> {
    return this.startWorker(this.fork(), port);
  }

  private async startWorker(handle: WorkerHandle, port: number): Promise<AddressInfo> {
    await new Promise<void>((resolve) => handle.worker.once('online', () => resolve()));
    const config: ProxyConfig = { ...this.config, listen: { ...this.config.listen, port } };
    return handle.call<AddressInfo>('start', { config });
  }

  private fork(): WorkerHandle {
    const handle = new WorkerHandle(cluster.fork());
    this.workers.add(handle);
    const pid = handle.worker.process.pid;
    const spawnedAt = performance.now();
    handle.worker.once('exit', (code, signal) => {
      this.workers.delete(handle);
      this.retire(handle);
      if (this.stopping) return;
      // A worker that dies young again and again (bad host state, a bug on start) must not
      // turn the primary into a fork loop on a 2-core instance.
      this.quickExits = performance.now() - spawnedAt < STABLE_AFTER_MS ? this.quickExits + 1 : 0;
      const respawnInMs = respawnDelayMs(this.quickExits);
      this.logger.error(
        { event: 'worker_exited', workerPid: pid, code, signal, respawnInMs },
        'worker exited; starting another',
      );
      this.respawnTimer = setTimeout(() => this.replace(pid), respawnInMs);
    });
    return handle;
  }

  private replace(exitedPid: number | undefined): void {
    if (this.stopping) return;
    const handle = this.fork();
    this.startWorker(handle, this.port).then(
      () => this.logger.info({ event: 'worker_replaced', exitedPid, workers: this.workers.size }),
      (err: unknown) => {
        this.logger.error({ event: 'worker_start_failed', err: String(err) }, 'replacement worker failed');
        // A worker that cannot listen serves nobody: end it; its exit schedules the next try.
        handle.worker.kill();
      },
    );
  }

  private all<T>(op: Op, extra: Partial<Request> = {}, timeoutMs?: number): Promise<T[]> {
    return Promise.all([...this.workers].map((w) => w.call<T>(op, extra, timeoutMs)));
  }

  async reload(config: ProxyConfig): Promise<void> {
    this.config = config;
    this.resolver.reconfigure(compileConfig(config).resolver);
    await this.all('reload', { config });
  }

  async stopAccepting(): Promise<void> {
    this.stopping = true;
    await this.all('stopAccepting');
  }

  async drain(deadlineMs: number): Promise<void> {
    this.stopping = true;
    await this.all('drain', { deadlineMs }).catch(() => {});
  }

  async destroy(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.respawnTimer);
    const workers = [...this.workers];
    await Promise.all(
      workers.map(async (w) => {
        await w.call('destroy', {}, EXIT_TIMEOUT_MS).catch(() => {});
        if (w.worker.isConnected()) w.worker.disconnect();
        const killer = setTimeout(() => w.worker.process.kill('SIGKILL'), EXIT_TIMEOUT_MS);
        await w.exited;
        clearTimeout(killer);
      }),
    );
    this.resolver.close();
  }

  async activeConnections(): Promise<number> {
    const counts = await Promise.all(
      [...this.workers].map((w) => w.call<number>('active', {}, 2000).catch(() => 0)),
    );
    return counts.reduce((a, b) => a + b, 0);
  }

  async metricsSnapshots(): Promise<MetricsSnapshot[]> {
    const workers = [...this.workers];
    const results = await Promise.allSettled(
      workers.map((w) => w.call<MetricsSnapshot>('metrics', {}, METRICS_TIMEOUT_MS)),
    );
    const snapshots: MetricsSnapshot[] = [];
    results.forEach((r, i) => {
      const worker = workers[i] as WorkerHandle;
      if (r.status === 'fulfilled') {
        snapshots.push(r.value);
        if (this.workers.has(worker)) this.lastSnapshots.set(worker, r.value);
        return;
      }
      // A worker that does not answer still counts with what it last reported.
      const last = this.lastSnapshots.get(worker);
      if (last !== undefined) snapshots.push(last);
      this.logger.warn({
        event: 'worker_metrics_failed',
        err: r.reason instanceof Error ? r.reason.message : '',
      });
    });
    if (this.retired.length > 1) {
      // One snapshot however many workers have died, so a crash loop cannot grow this.
      this.retired = [await AggregatorRegistry.aggregate(this.retired).getMetricsAsJSON()];
    }
    return [...snapshots, ...this.retired];
  }

  /** Keep an exited worker's counters and histograms; its gauges (open connections...) end with it. */
  private retire(handle: WorkerHandle): void {
    const last = this.lastSnapshots.get(handle);
    this.lastSnapshots.delete(handle);
    if (last === undefined) return;
    const kept = last.filter((m) => ['counter', 'histogram'].includes(String(m.type)));
    if (kept.length > 0) this.retired.push(kept as MetricsSnapshot);
  }
}
