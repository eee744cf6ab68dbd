/**
 * The proxy's metrics in CloudWatch: the CloudWatch agent on each instance scrapes the
 * proxy's own /metrics (Prometheus text) on loopback and sends a bounded set as embedded
 * metric format (EMF) log events, which CloudWatch turns into metrics in the
 * `ekslink/proxy` namespace. Why the agent and not EMF from the proxy: the proxy stays
 * cloud-neutral (the same /metrics serves Prometheus and the container image), the
 * agent is already on the instance for logs, and it turns counters into per-minute deltas.
 *
 * The set is explicit: SHIPPED_METRICS names each metric with its dimension sets, and
 * everything else the proxy exports is dropped at the scrape (a `keep` relabel rule), so a
 * new label or metric never raises the CloudWatch bill by itself. Dimensions are the fleet,
 * route names and closed reason/result sets, never addresses (see docs/metrics.md).
 */
import { stringify } from 'yaml';
import { cloudWatchAgentConfig, type ShippedLogFile } from './hardened-instance.js';

export const PROXY_METRICS_NAMESPACE = 'ekslink/proxy';
/** Dimension on every proxy metric: the fleet (its stack name), so several fleets share an account. */
export const FLEET_DIMENSION = 'Fleet';
export const SCRAPE_JOB = 'ekslink-proxy';
export const SCRAPE_INTERVAL_SEC = 60;
export const PROMETHEUS_CONFIG_PATH = '/opt/aws/amazon-cloudwatch-agent/etc/prometheus.yaml';
export const CW_AGENT_CONFIG_PATH = '/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json';

export interface ShippedMetric {
  readonly name: string;
  /** The Prometheus type; the agent sends gauges as is and counters as per-scrape deltas. */
  readonly type: 'counter' | 'gauge';
  /** Each set of proxy labels that becomes a CloudWatch dimension set (Fleet is always added). */
  readonly dimensions: readonly (readonly string[])[];
}

const fleetOnly = [[]] as const;

/** The metrics that reach CloudWatch, and their dimensions. */
export const SHIPPED_METRICS: readonly ShippedMetric[] = [
  { name: 'ekslink_connections_opened_total', type: 'counter', dimensions: fleetOnly },
  { name: 'ekslink_connections_closed_total', type: 'counter', dimensions: [['reason']] },
  { name: 'ekslink_connections_active', type: 'gauge', dimensions: fleetOnly },
  { name: 'ekslink_proxied_bytes_total', type: 'counter', dimensions: [['direction']] },
  { name: 'ekslink_dns_stale_answers_total', type: 'counter', dimensions: fleetOnly },
  { name: 'ekslink_upstream_connect_failures_total', type: 'counter', dimensions: [[], ['reason']] },
  { name: 'ekslink_proxy_header_rejections_total', type: 'counter', dimensions: [['reason']] },
  { name: 'ekslink_client_hello_rejections_total', type: 'counter', dimensions: [['reason']] },
  { name: 'ekslink_ready', type: 'gauge', dimensions: fleetOnly },
  { name: 'ekslink_draining', type: 'gauge', dimensions: fleetOnly },
  { name: 'ekslink_probes_total', type: 'counter', dimensions: [['result']] },
  { name: 'ekslink_probe_route_up', type: 'gauge', dimensions: [['route']] },
  { name: 'ekslink_config_reloads_total', type: 'counter', dimensions: [['result']] },
  { name: 'ekslink_nodejs_eventloop_lag_p99_seconds', type: 'gauge', dimensions: fleetOnly },
  { name: 'ekslink_process_resident_memory_bytes', type: 'gauge', dimensions: fleetOnly },
  { name: 'ekslink_process_open_fds', type: 'gauge', dimensions: fleetOnly },
];

/**
 * The proxy's own metrics that stay on the instance, and why. (Node's default collectors
 * other than the shipped ones are dropped too; they are prom-client's, not the proxy's.)
 */
export const UNSHIPPED_METRICS: Readonly<Record<string, string>> = {
  ekslink_connection_duration_seconds:
    'a histogram: the CloudWatch agent drops Prometheus histograms; durations are on every connection log line',
  ekslink_dns_lookup_duration_seconds:
    'a histogram (dropped by the agent); DNS failures and stale answers are counted by ekslink_probes_total{result="dns_failed"}, ekslink_connections_closed_total{reason="dns_failed"} and ekslink_dns_stale_answers_total',
  ekslink_upstream_connect_duration_seconds:
    'a histogram (dropped by the agent); failed attempts are ekslink_upstream_connect_failures_total',
};

export function shippedMetric(name: string): ShippedMetric {
  const m = SHIPPED_METRICS.find((s) => s.name === name);
  if (m === undefined) throw new Error(`${name} is not a shipped proxy metric (see SHIPPED_METRICS)`);
  return m;
}

/** Every CloudWatch dimension set of a shipped metric: Fleet first, then its labels. */
export function dimensionSets(m: ShippedMetric): string[][] {
  return m.dimensions.map((labels) => [FLEET_DIMENSION, ...labels]);
}

/** The Prometheus scrape config the agent reads: loopback only, the shipped names only. */
export function prometheusScrapeConfig(o: { healthPort: number; fleetName: string }): string {
  return stringify(
    {
      global: { scrape_interval: `${SCRAPE_INTERVAL_SEC}s`, scrape_timeout: '10s' },
      scrape_configs: [
        {
          job_name: SCRAPE_JOB,
          metrics_path: '/metrics',
          sample_limit: 2000,
          static_configs: [
            { targets: [`127.0.0.1:${o.healthPort}`], labels: { [FLEET_DIMENSION]: o.fleetName } },
          ],
          // The scrape address is no business of CloudWatch's: a constant instead of host:port.
          relabel_configs: [{ target_label: 'instance', replacement: 'local' }],
          metric_relabel_configs: [
            {
              source_labels: ['__name__'],
              regex: SHIPPED_METRICS.map((m) => m.name).join('|'),
              action: 'keep',
            },
          ],
        },
      ],
    },
    { lineWidth: 0 },
  );
}

/** The agent's EMF declarations: one per dimension set, naming its metrics. */
export function emfMetricDeclarations(): Record<string, unknown>[] {
  const bySet = new Map<string, { dims: string[]; names: string[] }>();
  for (const m of SHIPPED_METRICS) {
    for (const dims of dimensionSets(m)) {
      const key = dims.join(',');
      const entry = bySet.get(key) ?? { dims, names: [] };
      entry.names.push(m.name);
      bySet.set(key, entry);
    }
  }
  return [...bySet.values()].map(({ dims, names }) => ({
    source_labels: ['job'],
    label_matcher: `^${SCRAPE_JOB}$`,
    dimensions: [dims],
    metric_selectors: names.map((n) => `^${n}$`),
  }));
}

/**
 * The fleet's agent config: the shared memory/disk metrics and log files, plus the
 * Prometheus scrape of the proxy sent as EMF into the fleet's log group.
 */
export function fleetAgentConfig(logGroupName: string, files: readonly ShippedLogFile[]): string {
  const base = JSON.parse(cloudWatchAgentConfig(logGroupName, files)) as {
    logs: Record<string, unknown>;
  };
  base.logs.metrics_collected = {
    prometheus: {
      log_group_name: logGroupName,
      prometheus_config_path: PROMETHEUS_CONFIG_PATH,
      emf_processor: {
        metric_declaration_dedup: true,
        metric_namespace: PROXY_METRICS_NAMESPACE,
        metric_declaration: emfMetricDeclarations(),
      },
    },
  };
  return JSON.stringify(base, null, 2);
}
