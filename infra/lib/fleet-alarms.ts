/**
 * The fleet's alarms and dashboard, on the signals docs/operations.md names: unhealthy
 * targets, refusals by reason, DNS failures and stale answers, upstream connect failures,
 * event-loop lag, a drain that outlives its deadline, rejected reloads. The alarms on proxy
 * metrics are specified in fleet-alarm-specs.ts (id, metric, threshold, meaning); every alarm
 * has its runbook entry under "Alarms" in docs/operations.md; a test checks both against each other and against the
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
import { CLIENT_HELLO_REJECTIONS, PROXY_HEADER_REJECTIONS } from '../../proxy/process/metrics.js';
import {
  FLEET_DIMENSION,
  PROXY_METRICS_NAMESPACE,
  SCRAPE_INTERVAL_SEC,
  shippedMetric,
} from './fleet-metrics.js';
import { type FleetAlarmSpec, fleetAlarmSpecs } from './fleet-alarm-specs.js';

const SNS_TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/;

const minute = SCRAPE_INTERVAL_SEC;

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
