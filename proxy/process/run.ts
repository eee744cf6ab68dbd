/**
 * `ekslink proxy`: the process lifecycle around the data path. Loads the config (in a child
 * process, config-loader.ts, so the schema and YAML parser stay out of this heap), starts
 * the data plane (in-process, or worker processes sharing the port), the health port and
 * the readiness prober, logs one `listening` line, then follows signals:
 *   SIGTERM / SIGINT  /readyz fails at once; keep accepting for drain.graceSec while the
 *                     NLB notices; close the listener; let connections finish until
 *                     drain.deadlineSec, destroy the rest; exit 0. A second one stops now.
 *   SIGHUP            reload the file; new routes/allowlists apply to new connections; an
 *                     invalid file is logged and the running config stays.
 */
import cluster from 'node:cluster';
import { setTimeout as sleepFor } from 'node:timers/promises';
import type { DestinationStream } from 'pino';
import { ConfigError, describeError } from '../../common/errors.js';
import { createLogger, type Logger } from '../../common/logger.js';
import { compileConfig, type CompiledConfig } from '../config/compile.js';
import { readDeepProbeCa } from '../config/deep-probe-ca.js';
import type { ProxyConfig } from '../config/schema.js';
import { defaultConfigLoader, type ConfigLoader } from './config-loader.js';
import { HealthServer, type Readiness } from './health-server.js';
import { aggregateSnapshots, ProxyMetrics } from './metrics.js';
import { Prober, type ProberSettings } from './prober.js';
import { ClusterDataPlane } from './cluster-data-plane.js';
import { LOG_BUFFER_BYTES, LocalDataPlane, type DataPlane } from './data-plane.js';
import { runWorker } from './worker.js';

/** Where signals come from: `process` in production, an EventEmitter in tests. */
export interface SignalSource {
  on(signal: NodeJS.Signals, listener: () => void): unknown;
  off(signal: NodeJS.Signals, listener: () => void): unknown;
}

export interface RunOptions {
  /** @default process */
  readonly signals?: SignalSource;
  /** Wait `ms` unless aborted (the clock). @default node:timers/promises setTimeout */
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Log destination. @default stdout */
  readonly logDestination?: DestinationStream;
  /** Called once the ports are bound (tests in the same process). */
  readonly onListening?: (ports: { port: number; healthPort: number }) => void;
}

const SHUTDOWN_SIGNALS: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];

/** Runs until shut down by a signal; resolves with the exit code. Throws ConfigError on a bad file. */
export async function runProxy(configPath: string, options: RunOptions = {}): Promise<number> {
  if (cluster.isWorker) return runWorker();
  const loadConfig = defaultConfigLoader();
  const config = await loadConfig(configPath);
  const logger = createLogger({
    level: config.log.level,
    base: { component: 'proxy' },
    bufferBytes: LOG_BUFFER_BYTES,
    redactSecrets: false,
    ...(options.logDestination === undefined ? {} : { destination: options.logDestination }),
  });
  const lifecycle = new Lifecycle(configPath, loadConfig, config, logger, options);
  return lifecycle.run();
}

function proberSettings(compiled: CompiledConfig, ca: string | undefined): ProberSettings {
  const { config, policy } = compiled;
  const { health } = config;
  return {
    routes: config.routes,
    policy,
    connectTimeoutMs: config.upstream.connectTimeoutMs,
    intervalMs: health.probeIntervalMs,
    successThreshold: health.successThreshold,
    failureThreshold: health.failureThreshold,
    ...(health.deepProbe.enabled && ca !== undefined
      ? { deepProbe: { ca, path: health.deepProbe.path } }
      : {}),
  };
}

/** Settings a reload cannot change: they need a restart. */
function restartOnlyChanges(a: ProxyConfig, b: ProxyConfig): string[] {
  const changed: string[] = [];
  if (a.listen.host !== b.listen.host || a.listen.port !== b.listen.port) changed.push('listen');
  if (a.health.host !== b.health.host || a.health.port !== b.health.port) changed.push('health.host/port');
  if (a.workers !== b.workers) changed.push('workers');
  if (a.log.level !== b.log.level) changed.push('log.level');
  return changed;
}

class Lifecycle {
  private config: ProxyConfig;
  private readonly signals: SignalSource;
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  private readonly metrics: ProxyMetrics;
  private readonly plane: DataPlane;
  private prober!: Prober;
  private health!: HealthServer;
  private draining = false;
  private readonly immediate = new AbortController();
  private reloading: Promise<void> = Promise.resolve();
  private resolveStop!: () => void;
  private readonly stopRequested = new Promise<void>((resolve) => (this.resolveStop = resolve));

  constructor(
    private readonly configPath: string,
    private readonly loadConfig: ConfigLoader,
    config: ProxyConfig,
    private readonly logger: Logger,
    private readonly options: RunOptions,
  ) {
    this.config = config;
    this.signals = options.signals ?? process;
    this.sleep = options.sleep ?? ((ms, signal) => sleepFor(ms, undefined, { signal }));
    this.metrics = new ProxyMetrics({ routes: config.routes.map((r) => r.name) });
    this.plane =
      config.workers > 1
        ? new ClusterDataPlane(config, logger)
        : new LocalDataPlane(config, logger, this.metrics);
  }

  async run(): Promise<number> {
    const ca = await readDeepProbeCa(this.config);
    this.signals.on('SIGHUP', this.onHup);
    for (const s of SHUTDOWN_SIGNALS) this.signals.on(s, this.onStop);
    try {
      const address = await this.plane.start();
      this.prober = new Prober({
        ...proberSettings(compileConfig(this.config), ca),
        resolver: this.plane.resolver,
        logger: this.logger,
        observer: this.metrics,
      });
      this.health = new HealthServer({
        host: this.config.health.host,
        port: this.config.health.port,
        logger: this.logger,
        proxyHeaderTimeoutMs: this.config.proxyProtocol.timeoutMs,
        source: { readiness: () => this.readiness(), metrics: () => this.metricsText() },
      });
      const health = await this.health.listen();
      this.prober.start();
      this.logger.info({
        event: 'listening',
        address: address.address,
        port: address.port,
        healthPort: health.port,
        workers: this.config.workers,
        routes: this.config.routes.map((r) => r.name),
        proxyProtocol: this.config.proxyProtocol.mode,
      });
      // Supervisors and tests wait for this line: do not leave it in the log buffer.
      this.logger.flush();
      this.options.onListening?.({ port: address.port, healthPort: health.port });
    } catch (err) {
      this.detachSignals();
      await this.plane.destroy();
      throw err;
    }
    await this.stopRequested;
    await this.shutdown();
    return 0;
  }

  private readiness(): Readiness {
    if (this.draining) return { ready: false, reason: 'draining' };
    const s = this.prober.status();
    const routes = s.routes.map((r) => ({ name: r.name, ok: r.ok, result: r.result }));
    if (s.ready) return { ready: true, routes };
    return { ready: false, reason: s.probed ? 'probe failing' : 'not probed yet', routes };
  }

  private async metricsText(): Promise<string> {
    const others = await this.plane.metricsSnapshots();
    if (others.length === 0) return this.metrics.registry.metrics();
    return aggregateSnapshots([await this.metrics.snapshot(), ...others]);
  }

  private readonly onStop = (): void => {
    if (this.draining) {
      this.logger.warn({ event: 'drain_cut_short' }, 'second stop signal: closing every connection now');
      this.immediate.abort();
      return;
    }
    this.draining = true;
    this.metrics.setDraining(true);
    this.metrics.setReady(false);
    this.resolveStop();
  };

  private readonly onHup = (): void => {
    this.reloading = this.reloading.then(() => this.reload());
  };

  private async reload(): Promise<void> {
    if (this.draining) {
      this.logger.warn({ event: 'reload_ignored', reason: 'draining' });
      return;
    }
    let next: ProxyConfig;
    let compiled: CompiledConfig;
    let ca: string | undefined;
    try {
      next = await this.loadConfig(this.configPath);
      ca = await readDeepProbeCa(next);
      compiled = compileConfig(next);
    } catch (err) {
      const { code, message } = describeError(err);
      this.metrics.reload(false);
      this.logger.error(
        {
          event: 'reload_failed',
          path: this.configPath,
          code,
          problems: err instanceof ConfigError && err.problems.length > 0 ? err.problems : [message],
        },
        `config reload rejected; still serving the previous config: ${message}`,
      );
      return;
    }
    const ignored = restartOnlyChanges(this.config, next);
    if (ignored.length > 0) {
      this.logger.warn(
        { event: 'reload_needs_restart', settings: ignored },
        'these settings apply after a restart',
      );
    }
    this.config = next;
    this.metrics.addRoutes(next.routes.map((r) => r.name));
    await this.plane.reload(next);
    this.prober.reconfigure(proberSettings(compiled, ca));
    this.metrics.reload(true);
    this.logger.info({
      event: 'config_reloaded',
      path: this.configPath,
      routes: next.routes.map((r) => r.name),
    });
  }

  private async shutdown(): Promise<void> {
    const { graceSec, deadlineSec } = this.config.drain;
    const active = await this.plane.activeConnections();
    this.logger.info({ event: 'drain_started', graceSec, deadlineSec, activeConnections: active });
    const started = Date.now();
    await this.sleep(graceSec * 1000, this.immediate.signal).catch(() => {});
    await this.plane.stopAccepting();
    const remaining = await this.plane.activeConnections();
    this.logger.info({ event: 'listener_closed', activeConnections: remaining });
    if (!this.immediate.signal.aborted) {
      const drained = this.plane.drain(deadlineSec * 1000);
      const cut = new Promise<void>((resolve) =>
        this.immediate.signal.addEventListener('abort', () => resolve()),
      );
      await Promise.race([drained, cut]);
    }
    await this.prober.stop();
    await this.plane.destroy();
    this.detachSignals();
    await this.reloading;
    await this.health.close();
    this.logger.info({
      event: 'stopped',
      afterMs: Date.now() - started,
      immediate: this.immediate.signal.aborted,
    });
  }

  private detachSignals(): void {
    this.signals.off('SIGHUP', this.onHup);
    for (const s of SHUTDOWN_SIGNALS) this.signals.off(s, this.onStop);
  }
}
