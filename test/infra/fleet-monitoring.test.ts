/**
 * The proxy's metrics in CloudWatch, checked against the proxy itself: the scrape config
 * and the EMF declarations the synthesized user data writes name exactly the shipped
 * metrics, each of which the proxy's prom-client registry (proxy/process/metrics.ts, read at test
 * time) exports with that type and those labels; every proxy metric is either shipped or
 * listed as kept on the instance with a reason; every alarm watches a metric and a
 * dimension set the agent really sends, with label values the proxy really uses; every
 * alarm has its runbook entry in docs/operations.md.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Metric as PromMetric } from 'prom-client';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { REPO_ROOT } from '../../infra/lib/artifacts.js';
import {
  CW_AGENT_CONFIG_PATH,
  FLEET_DIMENSION,
  PROMETHEUS_CONFIG_PATH,
  PROXY_METRICS_NAMESPACE,
  SHIPPED_METRICS,
  UNSHIPPED_METRICS,
} from '../../infra/lib/fleet-metrics.js';
import { deregistrationDelayForDrain } from '../../common/drain-timing.js';
import { provisionerDefaultTargetGroup } from '../../infra/lib/fleet-pairing.js';
import { DRAIN_MARGIN_SEC } from '../../infra/lib/proxy-fleet.js';
import { ProxyFleetStack } from '../../infra/lib/proxy-fleet-stack.js';
import { ProxyMetrics } from '../../proxy/process/metrics.js';
import { fleetProps, heredocFile, resourcesOfType, userDataOf } from './helpers.js';

type Json = Record<string, unknown>;
interface Exported {
  readonly type: string;
  readonly labels: readonly string[];
  /** Every label value the registry has a series for (series start at 0 at start-up). */
  readonly values: Map<string, Set<string>>;
}

/** What a proxy registry exports, by metric name. */
async function exported(processMetrics: boolean): Promise<Map<string, Exported>> {
  const m = new ProxyMetrics({ routes: ['prod'], processMetrics });
  // Probe series appear with the first probe (the others start at 0): one of each the alarms read.
  m.probe('prod', 'dns_failed');
  const out = new Map<string, Exported>();
  for (const metric of m.registry.getMetricsAsArray()) {
    const got = await (metric as unknown as PromMetric).get();
    const values = new Map<string, Set<string>>();
    for (const v of got.values) {
      for (const [k, val] of Object.entries(v.labels)) {
        values.set(k, (values.get(k) ?? new Set()).add(String(val)));
      }
    }
    out.set(got.name, {
      type: String(got.type),
      labels: (metric as unknown as { labelNames: string[] }).labelNames,
      values,
    });
  }
  return out;
}

const STACK = 'ekslink-test-proxy-fleet';
let template: Template;
let agent: {
  logs: { metrics_collected: { prometheus: Json & { emf_processor: { metric_declaration: Json[] } } } };
};
let scrape: { scrape_configs: Json[] };
let all: Map<string, Exported>;
let own: Map<string, Exported>;

beforeAll(async () => {
  // GIVEN the fleet as synthesized, and the proxy's registry as the proxy builds it
  template = Template.fromStack(
    new ProxyFleetStack(new App(), STACK, {
      ...fleetProps({
        drainGraceSec: 20,
        drainDeadlineSec: 600,
        // The target group `provision apply` sizes for that drain.
        targetGroupSettings: {
          ...provisionerDefaultTargetGroup(8080),
          deregistrationDelaySec: deregistrationDelayForDrain({ graceSec: 20, deadlineSec: 600 }),
        },
      }),
      deploymentName: 'test',
    }),
  );
  const userData = userDataOf(template);
  agent = JSON.parse(heredocFile(userData, CW_AGENT_CONFIG_PATH)) as typeof agent;
  scrape = parseYaml(heredocFile(userData, PROMETHEUS_CONFIG_PATH)) as typeof scrape;
  all = await exported(true);
  own = await exported(false);
});

const declarations = () => agent.logs.metrics_collected.prometheus.emf_processor.metric_declaration;
const job = () => scrape.scrape_configs[0] as Json;
const keepRule = () =>
  (job().metric_relabel_configs as Json[]).find((r) => r.action === 'keep') as { regex: string };

describe('the scrape config', () => {
  it('scrapes the proxy on loopback at the health port, labelled with the fleet, not the address', () => {
    const j = job();
    expect(j.metrics_path).toBe('/metrics');
    expect(j.static_configs).toEqual([{ targets: ['127.0.0.1:8080'], labels: { [FLEET_DIMENSION]: STACK } }]);
    expect(j.relabel_configs).toEqual([{ target_label: 'instance', replacement: 'local' }]);
    expect(agent.logs.metrics_collected.prometheus.prometheus_config_path).toBe(PROMETHEUS_CONFIG_PATH);
    expect(agent.logs.metrics_collected.prometheus.emf_processor).toMatchObject({
      metric_namespace: PROXY_METRICS_NAMESPACE,
    });
  });

  it('keeps exactly the names the EMF declarations select, and those are the shipped set', () => {
    const kept = keepRule().regex.split('|').sort();
    const selected = [
      ...new Set(declarations().flatMap((d) => (d.metric_selectors as string[]).map((s) => s.slice(1, -1)))),
    ].sort();
    expect(selected).toEqual(kept);
    expect(kept).toEqual(SHIPPED_METRICS.map((m) => m.name).sort());
  });
});

describe('against the proxy registry (proxy/process/metrics.ts)', () => {
  it('ships only metrics the proxy exports, each a counter or gauge of the declared type (the agent drops histograms)', () => {
    for (const name of keepRule().regex.split('|')) {
      const e = all.get(name);
      expect(e, `${name} is not exported by the proxy`).toBeDefined();
      expect([name, e!.type]).toEqual([name, SHIPPED_METRICS.find((m) => m.name === name)!.type]);
    }
  });

  it("accounts for every one of the proxy's own metrics: shipped, or kept on the instance with a reason", () => {
    const shipped = new Set(SHIPPED_METRICS.map((m) => m.name));
    for (const name of own.keys()) {
      expect(shipped.has(name) || name in UNSHIPPED_METRICS, `${name}: ship it or say why not`).toBe(true);
    }
    for (const [name, why] of Object.entries(UNSHIPPED_METRICS)) {
      expect(own.has(name), `${name} is listed as unshipped but the proxy does not export it`).toBe(true);
      expect(shipped.has(name)).toBe(false);
      expect(why.length).toBeGreaterThan(20);
    }
  });

  it('uses as dimensions only the Fleet and labels the metric has, never an address-like label', () => {
    for (const d of declarations()) {
      const [dims] = d.dimensions as string[][];
      expect(dims![0]).toBe(FLEET_DIMENSION);
      for (const sel of d.metric_selectors as string[]) {
        const e = all.get(sel.slice(1, -1))!;
        for (const label of dims!.slice(1)) expect(e.labels, `${sel} has no label ${label}`).toContain(label);
      }
      for (const label of dims!)
        expect(label).not.toMatch(/addr|ip|host|sni|instance|client|upstream|endpoint/i);
      expect(d).toMatchObject({ source_labels: ['job'], label_matcher: `^${String(job().job_name)}$` });
    }
  });
});

describe('alarms', () => {
  const alarms = () =>
    resourcesOfType(template, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties as Json);
  const proxyAlarms = () => alarms().filter((a) => a.Namespace === PROXY_METRICS_NAMESPACE);

  it('cover the signals operations.md names', () => {
    const names = alarms().map((a) => String(a.AlarmName).slice(STACK.length + 1));
    expect(names.sort()).toEqual(
      [
        'UnhealthyTargets',
        'RefusedSniNotAllowed',
        'RefusedVpceNotAllowed',
        'RefusedProxyHeaderInvalid',
        'RefusedConnectionLimit',
        'NoAllowedUpstreamAddress',
        'DnsFailures',
        'DnsStaleAnswers',
        'UpstreamConnectFailures',
        'EventLoopLag',
        'DrainingTooLong',
        'ConfigReloadRejected',
      ].sort(),
    );
  });

  it('watch a shipped metric with one of its shipped dimension sets and label values the proxy uses', () => {
    expect(proxyAlarms().length).toBe(11);
    for (const a of proxyAlarms()) {
      const name = String(a.MetricName);
      const shipped = SHIPPED_METRICS.find((m) => m.name === name);
      expect(shipped, `${String(a.AlarmName)} watches ${name}, which the agent never sends`).toBeDefined();
      const dims = a.Dimensions as { Name: string; Value: string }[];
      const keys = dims.map((d) => d.Name);
      expect(shipped!.dimensions.map((labels) => [FLEET_DIMENSION, ...labels].join(','))).toContain(
        keys.join(','),
      );
      expect(dims[0]).toEqual({ Name: FLEET_DIMENSION, Value: STACK });
      for (const { Name, Value } of dims.slice(1)) {
        expect(all.get(name)!.values.get(Name), `${name}{${Name}}`).toContain(Value);
      }
    }
  });

  it('alarm on unhealthy targets of exactly this target group, through Metrics Insights', () => {
    const [a] = alarms().filter((x) => String(x.AlarmName).endsWith('-UnhealthyTargets'));
    const [query] = a!.Metrics as Json[];
    expect(query!.Expression).toBe(
      `SELECT MAX(UnHealthyHostCount) FROM SCHEMA("AWS/NetworkELB", LoadBalancer, TargetGroup) WHERE TargetGroup = 'targetgroup/ekslink-example/0123456789abcdef'`,
    );
  });

  it('call a drain too long once it outlives grace + deadline + margin', () => {
    const [a] = proxyAlarms().filter((x) => x.MetricName === 'ekslink_draining');
    const periods = Math.ceil((20 + 600 + DRAIN_MARGIN_SEC) / 60) + 1;
    expect(a).toMatchObject({ Statistic: 'Maximum', Period: 60, EvaluationPeriods: periods, Threshold: 1 });
  });

  it('each have a runbook entry under "Alarms" in docs/operations.md', () => {
    const doc = readFileSync(join(REPO_ROOT, 'docs', 'operations.md'), 'utf8');
    const section = doc.slice(doc.indexOf('\n## Alarms\n'));
    expect(section.length).toBeGreaterThan(100);
    const body = section.slice(0, section.indexOf('\n## ', 5) > 0 ? section.indexOf('\n## ', 5) : undefined);
    for (const a of alarms()) {
      const id = String(a.AlarmName).slice(STACK.length + 1);
      expect(body, `no runbook entry for ${id}`).toMatch(new RegExp(`^### ${id}\\n`, 'm'));
      expect(String(a.AlarmDescription)).toContain(`Runbook: docs/operations.md, Alarms, ${id}.`);
    }
  });

  it('notify the topic when one is given, and refuse a value that is not an SNS topic ARN', () => {
    const topic = 'arn:aws:sns:us-east-1:111111111111:ekslink-alarms';
    const t = Template.fromStack(
      new ProxyFleetStack(new App(), 'Notify', {
        ...fleetProps({ alarmTopicArn: topic }),
        deploymentName: 'n',
      }),
    );
    for (const [, a] of resourcesOfType(t, 'AWS::CloudWatch::Alarm')) {
      expect((a.Properties as Json).AlarmActions).toEqual([topic]);
      expect((a.Properties as Json).OKActions).toEqual([topic]);
    }
    expect(
      () =>
        new ProxyFleetStack(new App(), 'Bad', {
          ...fleetProps({ alarmTopicArn: 'ekslink-alarms' }),
          deploymentName: 'n',
        }),
    ).toThrow(/props\.alarmTopicArn must be an SNS topic ARN \(got "ekslink-alarms"\)/);
  });
});

describe('dashboard', () => {
  it('is named for the fleet and shows the alarms and the proxy metrics', () => {
    const [[, d]] = resourcesOfType(template, 'AWS::CloudWatch::Dashboard') as [[string, Json]];
    expect((d.Properties as Json).DashboardName).toBe(STACK);
    const body = JSON.stringify((d.Properties as Json).DashboardBody);
    for (const m of [
      'ekslink_connections_active',
      'ekslink_client_hello_rejections_total',
      'ekslink_draining',
    ]) {
      expect(body).toContain(m);
    }
  });
});
