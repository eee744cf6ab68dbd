/**
 * Prometheus metrics of one proxy process (docs/metrics.md lists every one). A registry
 * per instance so tests are isolated; labels are bounded: route names from the config and
 * reasons from the closed sets in close-reason.ts / observer.ts, never addresses or SNIs.
 * Over 300 lines: every metric declared once, here, with its help text and labels. The
 * metrics a connection updates are pre-bound series (metric-series.ts), so a connection
 * costs a few field writes; the rest are prom-client's own.
 */
import { AggregatorRegistry, collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { CLOSE_REASONS, type CloseReason } from '../close-reason.js';
import type { ConnectionRecord, ConnectResult, DnsResult, ProxyObserver } from '../observer.js';
import {
  type CounterSeries,
  type HistogramSeries,
  LabelledCounter,
  LabelledHistogram,
} from './metric-series.js';

export const METRIC_PREFIX = 'ekslink_';
/** Route label for connections refused before a route was chosen. */
export const NO_ROUTE = 'none';

export const PROXY_HEADER_REJECTIONS = [
  'proxy_header_invalid',
  'proxy_header_timeout',
  'vpce_not_allowed',
] as const satisfies readonly CloseReason[];
export const CLIENT_HELLO_REJECTIONS = [
  'client_hello_invalid',
  'client_hello_too_large',
  'client_hello_timeout',
  'sni_missing',
  'sni_not_allowed',
] as const satisfies readonly CloseReason[];
const DNS_RESULTS: readonly DnsResult[] = ['ok', 'stale', 'error'];
const CONNECT_FAILURES: readonly Exclude<ConnectResult, 'ok'>[] = [
  'timeout',
  'refused',
  'unreachable',
  'error',
];
export type ProbeResult = 'ok' | 'dns_failed' | 'no_allowed_address' | 'connect_failed' | 'deep_probe_failed';
const PROBE_RESULTS: readonly ProbeResult[] = [
  'ok',
  'dns_failed',
  'no_allowed_address',
  'connect_failed',
  'deep_probe_failed',
];

/** Seconds: sub-millisecond DNS and connects up to kube watches that last an hour. */
const FAST_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
/** One process's metrics in JSON form: what a worker sends its cluster primary. */
export type MetricsSnapshot = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

const CONNECTION_BUCKETS = [0.01, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 1800, 3600, 7200];

export interface ProxyMetricsOptions {
  /** Route names known now, so every series starts at 0. */
  readonly routes?: readonly string[];
  /** Node process metrics (CPU, memory, event loop, GC). @default true */
  readonly processMetrics?: boolean;
}

export class ProxyMetrics implements ProxyObserver {
  readonly registry = new Registry();
  /** The one series of `connections_opened_total`. */
  private readonly opened: CounterSeries;
  private readonly closed: LabelledCounter<'route' | 'reason'>;
  /** Open connections now: `connections_active` reads it at collection, so a connection updates no gauge. */
  private activeCount = 0;
  private readonly active: Gauge;
  private readonly bytes: LabelledCounter<'route' | 'direction'>;
  private readonly duration: LabelledHistogram<'route'>;
  private readonly dnsDuration: LabelledHistogram<'route' | 'result'>;
  private readonly dnsStale: LabelledCounter<'route'>;
  private readonly connectDuration: LabelledHistogram<'route' | 'result'>;
  private readonly connectFailures: LabelledCounter<'route' | 'reason'>;
  /** The proxy-header and client-hello rejection series, by close reason. */
  private readonly rejections = new Map<string, CounterSeries>();
  private readonly ready: Gauge;
  private readonly draining: Gauge;
  private readonly probes: Counter<'route' | 'result'>;
  private readonly routeUp: Gauge<'route'>;
  private readonly reloads: Counter<'result'>;
  private readonly routes = new Set<string>();
  private readonly series = new Map<string, RouteSeries>();
  /** Runs before every collection (a scrape, or a worker's snapshot): e.g. flush open connections' byte counts. */
  beforeCollect: (() => void) | undefined;

  constructor(options: ProxyMetricsOptions = {}) {
    const registers = [this.registry];
    const p = METRIC_PREFIX;
    this.opened = new LabelledCounter({
      name: `${p}connections_opened_total`,
      help: 'Client connections accepted on the data port.',
      registers,
    }).child({});
    this.closed = new LabelledCounter({
      name: `${p}connections_closed_total`,
      help: 'Client connections closed, by route ("none" before a route was chosen) and close reason.',
      labelNames: ['route', 'reason'],
      registers,
    });
    this.active = new Gauge({
      name: `${p}connections_active`,
      help: 'Client connections open now.',
      registers,
      collect: () => this.active.set(this.activeCount),
    });
    this.bytes = new LabelledCounter({
      name: `${p}proxied_bytes_total`,
      help: 'Bytes relayed, by route and direction (client_to_upstream, upstream_to_client).',
      labelNames: ['route', 'direction'],
      registers,
      collect: () => this.beforeCollect?.(),
    });
    this.duration = new LabelledHistogram({
      name: `${p}connection_duration_seconds`,
      help: 'Lifetime of closed client connections.',
      labelNames: ['route'],
      buckets: CONNECTION_BUCKETS,
      registers,
    });
    this.dnsDuration = new LabelledHistogram({
      name: `${p}dns_lookup_duration_seconds`,
      help: 'Upstream hostname lookups by route and result (ok, stale, error).',
      labelNames: ['route', 'result'],
      buckets: FAST_BUCKETS,
      registers,
    });
    this.dnsStale = new LabelledCounter({
      name: `${p}dns_stale_answers_total`,
      help: 'Lookups answered from the last good answer because DNS failed.',
      labelNames: ['route'],
      registers,
    });
    this.connectDuration = new LabelledHistogram({
      name: `${p}upstream_connect_duration_seconds`,
      help: 'Upstream TCP connect attempts by route and result (ok, timeout, refused, unreachable, error).',
      labelNames: ['route', 'result'],
      buckets: FAST_BUCKETS,
      registers,
    });
    this.connectFailures = new LabelledCounter({
      name: `${p}upstream_connect_failures_total`,
      help: 'Failed upstream connect attempts by route and reason.',
      labelNames: ['route', 'reason'],
      registers,
    });
    const proxyHeaderRejections = new LabelledCounter({
      name: `${p}proxy_header_rejections_total`,
      help: 'Connections closed at the PROXY v2 header stage, by reason.',
      labelNames: ['reason'],
      registers,
    });
    const clientHelloRejections = new LabelledCounter({
      name: `${p}client_hello_rejections_total`,
      help: 'Connections closed at the TLS ClientHello stage, by reason.',
      labelNames: ['reason'],
      registers,
    });
    this.ready = new Gauge({
      name: `${p}ready`,
      help: '1 when /readyz answers 200 (prober passing and not draining), else 0.',
      aggregator: 'max',
      registers,
    });
    this.draining = new Gauge({
      name: `${p}draining`,
      help: '1 from the first SIGTERM/SIGINT until exit.',
      aggregator: 'max',
      registers,
    });
    this.probes = new Counter({
      name: `${p}probes_total`,
      help: 'Background readiness probes by route and result.',
      labelNames: ['route', 'result'],
      registers,
    });
    this.routeUp = new Gauge({
      name: `${p}probe_route_up`,
      help: '1 when the last probe of the route passed, else 0.',
      labelNames: ['route'],
      aggregator: 'max',
      registers,
    });
    this.reloads = new Counter({
      name: `${p}config_reloads_total`,
      help: 'SIGHUP config reloads by result (ok, error).',
      labelNames: ['result'],
      registers,
    });
    for (const reason of PROXY_HEADER_REJECTIONS)
      this.rejections.set(reason, proxyHeaderRejections.child({ reason }));
    for (const reason of CLIENT_HELLO_REJECTIONS)
      this.rejections.set(reason, clientHelloRejections.child({ reason }));
    for (const result of ['ok', 'error']) this.reloads.inc({ result }, 0);
    this.addRoutes([NO_ROUTE]);
    this.addRoutes(options.routes ?? []);
    if (options.processMetrics ?? true) {
      // Its event-loop gauges are replaced below; its histogram still ticks, so slowly.
      collectDefaultMetrics({ register: this.registry, prefix: p, eventLoopMonitoringPrecision: 1000 });
      steadyEventLoopDelay(this.registry, p);
    }
  }

  /** Start every series of these routes at 0 (after a reload adds routes). */
  addRoutes(names: readonly string[]): void {
    for (const route of names) {
      if (this.routes.has(route)) continue;
      this.routes.add(route);
      for (const reason of CLOSE_REASONS) this.closed.child({ route, reason });
      if (route === NO_ROUTE) continue;
      for (const direction of ['client_to_upstream', 'upstream_to_client'])
        this.bytes.child({ route, direction });
      this.dnsStale.child({ route });
      for (const reason of CONNECT_FAILURES) this.connectFailures.child({ route, reason });
    }
  }

  connectionOpened(): void {
    this.opened.inc();
    this.activeCount++;
  }

  /**
   * The series of one route, each bound on its first update: as with prom-client's own
   * children, a series is exported from its first update (or from `addRoutes`), not before.
   */
  private of(route: string): RouteSeries {
    let series = this.series.get(route);
    if (series === undefined) {
      const { closed, duration, bytes, dnsDuration, dnsStale, connectDuration, connectFailures } = this;
      series = {
        closed: memo((reason) => closed.child({ route, reason })),
        duration: once(() => duration.child({ route })),
        toUpstream: once(() => bytes.child({ route, direction: 'client_to_upstream' })),
        toClient: once(() => bytes.child({ route, direction: 'upstream_to_client' })),
        dns: memo((result) => dnsDuration.child({ route, result })),
        dnsStale: once(() => dnsStale.child({ route })),
        connect: memo((result) => connectDuration.child({ route, result })),
        connectFailures: memo((reason) => connectFailures.child({ route, reason })),
      };
      this.series.set(route, series);
    }
    return series;
  }

  connectionClosed(record: ConnectionRecord): void {
    const series = this.of(record.route ?? NO_ROUTE);
    this.activeCount--;
    series.closed(record.reason).inc();
    series.duration().observe(record.durationMs / 1000);
    this.rejections.get(record.reason)?.inc();
  }

  bytesRelayed(route: string, fromClient: number, fromUpstream: number): void {
    const series = this.of(route);
    if (fromClient > 0) series.toUpstream().inc(fromClient);
    if (fromUpstream > 0) series.toClient().inc(fromUpstream);
  }

  dnsLookup(route: string, result: DnsResult, durationSec: number): void {
    if (!DNS_RESULTS.includes(result)) return;
    const series = this.of(route);
    series.dns(result).observe(durationSec);
    if (result === 'stale') series.dnsStale().inc();
  }

  upstreamConnect(route: string, result: ConnectResult, durationSec: number): void {
    const series = this.of(route);
    series.connect(result).observe(durationSec);
    if (result !== 'ok') series.connectFailures(result).inc();
  }

  setReady(ready: boolean): void {
    this.ready.set(ready ? 1 : 0);
  }

  setDraining(draining: boolean): void {
    this.draining.set(draining ? 1 : 0);
  }

  probe(route: string, result: ProbeResult): void {
    if (!PROBE_RESULTS.includes(result)) return;
    this.probes.inc({ route, result });
    this.routeUp.set({ route }, result === 'ok' ? 1 : 0);
  }

  reload(ok: boolean): void {
    this.reloads.inc({ result: ok ? 'ok' : 'error' });
  }

  /** This process's metrics as JSON, the form a cluster primary aggregates. */
  snapshot(): Promise<MetricsSnapshot> {
    return this.registry.getMetricsAsJSON();
  }
}

/** One route's series, so a connection's metrics cost no label validation or hashing. */
interface RouteSeries {
  readonly closed: (reason: string) => CounterSeries;
  readonly duration: () => HistogramSeries;
  readonly toUpstream: () => CounterSeries;
  readonly toClient: () => CounterSeries;
  readonly dns: (result: string) => HistogramSeries;
  readonly dnsStale: () => CounterSeries;
  readonly connect: (result: string) => HistogramSeries;
  readonly connectFailures: (reason: string) => CounterSeries;
}

/** `make` once per key (keys come from closed sets: close reasons, results). */
function memo<T>(make: (key: string) => T): (key: string) => T {
  const made = new Map<string, T>();
  return (key) => {
    let v = made.get(key);
    if (v === undefined) {
      v = make(key);
      made.set(key, v);
    }
    return v;
  };
}

/** `make` once, on first use. */
function once<T>(make: () => T): () => T {
  let v: T | undefined;
  return () => (v ??= make());
}

const LAG_STATS = ['min', 'max', 'mean', 'stddev', 'p50', 'p90', 'p99'] as const;
/** How often the event-loop delay is sampled (see steadyEventLoopDelay). */
const EVENT_LOOP_SAMPLE_MS = 100;

/**
 * prom-client's event-loop delay gauges read a histogram it resets on every collection, so
 * two scrapes close together (or concurrent ones, or a worker snapshot right after a
 * scrape) read an empty histogram: NaN and 9.2e9 s. These replace them: the same names,
 * from a histogram of our own that is read and reset only once it holds samples; until
 * then the last values stand.
 */
function steadyEventLoopDelay(registry: Registry, prefix: string): void {
  // Node's histogram records the time between its timer's firings, which is the resolution
  // plus how late the loop was: the resolution is taken off every statistic but the standard
  // deviation (which it does not move), so the gauges read the delay itself (an idle loop ~0).
  // The timer wakes an idle proxy 1000/resolution times a second, and each wake-up costs: at
  // 20 ms an idle proxy used 0.8 % of a CPU, 0.6 of it this timer. At 100 ms, 10 a second. A
  // loop that falls behind delays every firing, so a CPU-bound proxy (the alarm: p99 above
  // 100 ms) shows at any rate; a stall shows when a firing falls due inside it, except in the
  // first interval after a reset (a read below), which Node's histogram does not record.
  const histogram = monitorEventLoopDelay({ resolution: EVENT_LOOP_SAMPLE_MS });
  const delaySec = (intervalNs: number): number =>
    Math.max(0, intervalNs / 1e9 - EVENT_LOOP_SAMPLE_MS / 1000);
  histogram.enable();
  const last: Record<(typeof LAG_STATS)[number], number> = {
    min: 0,
    max: 0,
    mean: 0,
    stddev: 0,
    p50: 0,
    p90: 0,
    p99: 0,
  };
  const read = (): void => {
    if (histogram.count === 0) return;
    last.min = delaySec(histogram.min);
    last.max = delaySec(histogram.max);
    last.mean = delaySec(histogram.mean);
    last.stddev = histogram.stddev / 1e9;
    last.p50 = delaySec(histogram.percentile(50));
    last.p90 = delaySec(histogram.percentile(90));
    last.p99 = delaySec(histogram.percentile(99));
    histogram.reset();
  };
  const help: Record<(typeof LAG_STATS)[number], string> = {
    min: 'The minimum recorded event loop delay.',
    max: 'The maximum recorded event loop delay.',
    mean: 'The mean of the recorded event loop delays.',
    stddev: 'The standard deviation of the recorded event loop delays.',
    p50: 'The 50th percentile of the recorded event loop delays.',
    p90: 'The 90th percentile of the recorded event loop delays.',
    p99: 'The 99th percentile of the recorded event loop delays.',
  };
  for (const stat of LAG_STATS) {
    const name = `${prefix}nodejs_eventloop_lag_${stat}_seconds`;
    registry.removeSingleMetric(name);
    new Gauge({
      name,
      help: help[stat],
      registers: [registry],
      aggregator: stat === 'min' ? 'min' : stat === 'max' ? 'max' : 'average',
      collect() {
        // The first gauge collected reads the histogram for all of them.
        if (stat === 'min') read();
        this.set(last[stat]);
      },
    });
  }
}

/** Prometheus text for several processes' snapshots: counters and histograms summed, gauges per their aggregator. */
export function aggregateSnapshots(snapshots: readonly MetricsSnapshot[]): Promise<string> {
  return AggregatorRegistry.aggregate([...snapshots]).metrics();
}

export const METRICS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;
