/**
 * The fleet's alarms and dashboard, on the signals docs/operations.md names: unhealthy
 * targets, refusals by reason, DNS failures and stale answers, upstream connect failures,
 * event-loop lag, a drain that outlives its deadline, rejected reloads. Every alarm is in
 * FLEET_ALARMS (id, metric, threshold, meaning) and has its runbook entry under
 * "Alarms" in docs/operations.md; a test checks both against each other and against the
 * metrics the agent really ships (fleet-metrics.ts).
 */
import { Duration } from 'aws-cdk-lib';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { PropChecker } from './validate.js';
import { CLIENT_HELLO_REJECTIONS, PROXY_HEADER_REJECTIONS } from '../../proxy/metrics.js';
import {
  FLEET_DIMENSION,
  PROXY_METRICS_NAMESPACE,
  SCRAPE_INTERVAL_SEC,
  shippedMetric,
} from './fleet-metrics.js';

const SNS_TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/;

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

/** The alarm on the target group's unhealthy targets (AWS/NetworkELB, through Metrics Insights). */
export const UNHEALTHY_HOSTS_ALARM = 'UnhealthyTargets';

export interface FleetAlarmsProps {
  /** The Fleet dimension value (the stack name). */
  readonly fleetName: string;
  readonly targetGroupArn: string;
  /** grace + deadline + margin: how long a drain may take. */
  readonly drainTotalSec: number;
  /** @default - no alarm action */
  readonly alarmTopicArn?: string;
}

/** `targetgroup/<name>/<id>`: the TargetGroup dimension of AWS/NetworkELB metrics. */
export function targetGroupDimension(targetGroupArn: string): string {
  return targetGroupArn.slice(targetGroupArn.indexOf(':targetgroup/') + 1);
}

export class FleetAlarms extends Construct {
  public readonly alarms: Alarm[] = [];
  public readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: FleetAlarmsProps) {
    super(scope, id);
    if (props.alarmTopicArn !== undefined) {
      new PropChecker(`ProxyFleet '${scope.node.path}'`).arn(
        'alarmTopicArn',
        props.alarmTopicArn,
        SNS_TOPIC_ARN,
        'must be an SNS topic ARN',
        '"arn:aws:sns:us-east-1:111122223333:ekslink-alarms"',
      );
    }
    const fleet = props.fleetName;
    const metric = (name: string, dims: Record<string, string>, statistic: string, periodSec: number) =>
      new Metric({
        namespace: PROXY_METRICS_NAMESPACE,
        metricName: shippedMetric(name).name,
        dimensionsMap: { [FLEET_DIMENSION]: fleet, ...dims },
        statistic,
        period: Duration.seconds(periodSec),
      });

    const unhealthy = new MathExpression({
      // The NLB publishes per (LoadBalancer, TargetGroup); the query needs only the target group.
      expression: `SELECT MAX(UnHealthyHostCount) FROM SCHEMA("AWS/NetworkELB", LoadBalancer, TargetGroup) WHERE TargetGroup = '${targetGroupDimension(props.targetGroupArn)}'`,
      period: Duration.minutes(1),
      label: 'Unhealthy targets',
    });
    const topic =
      props.alarmTopicArn !== undefined
        ? Topic.fromTopicArn(this, 'AlarmTopic', props.alarmTopicArn)
        : undefined;
    const add = (
      alarmId: string,
      m: IMetric,
      a: Omit<FleetAlarmSpec, 'id' | 'metric' | 'dimensions' | 'statistic' | 'periodSec'>,
    ) => {
      const alarm = new Alarm(this, alarmId, {
        alarmName: `${fleet}-${alarmId}`,
        alarmDescription: `ekslink proxy fleet ${fleet}: ${a.meaning}. Runbook: docs/operations.md, Alarms, ${alarmId}.`,
        metric: m,
        threshold: a.threshold,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: a.evaluationPeriods,
        datapointsToAlarm: a.datapointsToAlarm,
        // No data is no traffic, no instance draining, or an idle fleet: not a failure.
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
      if (topic !== undefined) {
        alarm.addAlarmAction(new SnsAction(topic));
        alarm.addOkAction(new SnsAction(topic));
      }
      this.alarms.push(alarm);
    };
    add(UNHEALTHY_HOSTS_ALARM, unhealthy, {
      threshold: 1,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      meaning: 'the NLB target group has an unhealthy target (its /readyz fails) for 3 minutes',
    });
    for (const spec of fleetAlarmSpecs(props.drainTotalSec)) {
      add(spec.id, metric(spec.metric, spec.dimensions, spec.statistic, spec.periodSec), spec);
    }

    const byReason = (name: string, reasons: readonly string[]) =>
      reasons.map((reason) => metric(name, { reason }, 'Sum', minute).with({ label: reason }));
    this.dashboard = new Dashboard(this, 'Dashboard', { dashboardName: fleet });
    this.dashboard.addWidgets(
      new AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24 }),
      new GraphWidget({
        title: 'Connections',
        left: [metric('ekslink_connections_opened_total', {}, 'Sum', minute).with({ label: 'opened / min' })],
        right: [metric('ekslink_connections_active', {}, 'Maximum', minute).with({ label: 'active (max)' })],
      }),
      new GraphWidget({ title: 'Unhealthy targets', left: [unhealthy] }),
      new GraphWidget({
        title: 'Refusals at the PROXY header',
        left: byReason('ekslink_proxy_header_rejections_total', PROXY_HEADER_REJECTIONS),
      }),
      new GraphWidget({
        title: 'Refusals at the ClientHello',
        left: byReason('ekslink_client_hello_rejections_total', CLIENT_HELLO_REJECTIONS),
      }),
      new GraphWidget({
        title: 'DNS and upstream',
        left: [
          metric('ekslink_probes_total', { result: 'dns_failed' }, 'Sum', minute).with({
            label: 'probe DNS failures',
          }),
          metric('ekslink_dns_stale_answers_total', {}, 'Sum', minute).with({ label: 'stale answers' }),
          metric('ekslink_upstream_connect_failures_total', {}, 'Sum', minute).with({
            label: 'connect failures',
          }),
        ],
      }),
      new GraphWidget({
        title: 'Readiness and drain',
        left: [
          metric('ekslink_ready', {}, 'Minimum', minute).with({ label: 'ready (min)' }),
          metric('ekslink_draining', {}, 'Maximum', minute).with({ label: 'draining (max)' }),
        ],
        right: [
          metric('ekslink_nodejs_eventloop_lag_p99_seconds', {}, 'Maximum', minute).with({
            label: 'event-loop lag p99 (max)',
          }),
        ],
      }),
    );
  }
}
