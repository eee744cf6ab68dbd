/**
 * What each of the fleet's alarms on proxy metrics watches (id, metric, threshold, meaning);
 * FleetAlarms (fleet-alarms.ts) turns them into CloudWatch alarms and each has its runbook
 * entry under "Alarms" in docs/operations.md.
 */
import { SCRAPE_INTERVAL_SEC } from './fleet-metrics.js';

/** One alarm on a shipped proxy metric (or, for `query`, a Metrics Insights query). */
export interface FleetAlarmSpec {
  /** Logical id and the alarm name's suffix; the runbook's heading in docs/operations.md. */
  readonly id: string;
  readonly metric: string;
  /** Dimensions besides Fleet (must be one of the metric's shipped dimension sets). */
  readonly dimensions: Readonly<Record<string, string>>;
  readonly statistic: 'Sum' | 'Maximum' | 'Minimum';
  readonly periodSec: number;
  /** Alarm when the statistic is >= this. */
  readonly threshold: number;
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm: number;
  readonly meaning: string;
}

const minute = SCRAPE_INTERVAL_SEC;

function refusal(id: string, metric: string, reason: string, threshold: number, meaning: string) {
  return {
    id,
    metric,
    dimensions: { reason },
    statistic: 'Sum' as const,
    periodSec: 5 * minute,
    threshold,
    evaluationPeriods: 1,
    datapointsToAlarm: 1,
    meaning,
  };
}

/** The alarms on proxy metrics; `drainTotalSec` is grace + deadline + margin. */
export function fleetAlarmSpecs(drainTotalSec: number): FleetAlarmSpec[] {
  const drainingPeriods = Math.ceil(drainTotalSec / minute) + 1;
  return [
    refusal(
      'RefusedSniNotAllowed',
      'ekslink_client_hello_rejections_total',
      'sni_not_allowed',
      10,
      'clients send an SNI that is not on the route allowlist',
    ),
    refusal(
      'RefusedVpceNotAllowed',
      'ekslink_proxy_header_rejections_total',
      'vpce_not_allowed',
      1,
      'a PrivateLink endpoint that is not on the allowlist connects',
    ),
    refusal(
      'RefusedProxyHeaderInvalid',
      'ekslink_proxy_header_rejections_total',
      'proxy_header_invalid',
      1,
      'connections arrive without a valid PROXY v2 header (target group and proxy disagree)',
    ),
    refusal(
      'RefusedConnectionLimit',
      'ekslink_connections_closed_total',
      'connection_limit',
      1,
      'connections are refused at accept: connections.max reached',
    ),
    refusal(
      'NoAllowedUpstreamAddress',
      'ekslink_connections_closed_total',
      'no_allowed_address',
      1,
      'DNS answers only addresses outside allowedUpstreamCidrs',
    ),
    {
      id: 'DnsFailures',
      metric: 'ekslink_probes_total',
      dimensions: { result: 'dns_failed' },
      statistic: 'Sum',
      periodSec: minute,
      threshold: 1,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      meaning: "the readiness prober cannot resolve a route's upstream hostname",
    },
    {
      id: 'DnsStaleAnswers',
      metric: 'ekslink_dns_stale_answers_total',
      dimensions: {},
      statistic: 'Sum',
      periodSec: 5 * minute,
      threshold: 1,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      meaning: 'connections are served from last-good DNS answers because DNS fails',
    },
    {
      id: 'UpstreamConnectFailures',
      metric: 'ekslink_upstream_connect_failures_total',
      dimensions: {},
      statistic: 'Sum',
      periodSec: 5 * minute,
      threshold: 5,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      meaning: 'TCP connects to EKS API addresses time out, are refused or unreachable',
    },
    {
      id: 'EventLoopLag',
      metric: 'ekslink_nodejs_eventloop_lag_p99_seconds',
      dimensions: {},
      statistic: 'Maximum',
      periodSec: minute,
      threshold: 0.1,
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
      meaning: 'a proxy process is CPU-bound (p99 event-loop lag above 100 ms)',
    },
    {
      id: 'DrainingTooLong',
      metric: 'ekslink_draining',
      dimensions: {},
      statistic: 'Maximum',
      periodSec: minute,
      threshold: 1,
      evaluationPeriods: drainingPeriods,
      datapointsToAlarm: drainingPeriods,
      meaning: `an instance has been draining for longer than grace + deadline + margin (${drainTotalSec} s)`,
    },
    {
      id: 'ConfigReloadRejected',
      metric: 'ekslink_config_reloads_total',
      dimensions: { result: 'error' },
      statistic: 'Sum',
      periodSec: 5 * minute,
      threshold: 1,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      meaning: 'a SIGHUP reload was rejected; the old config keeps serving',
    },
  ];
}
