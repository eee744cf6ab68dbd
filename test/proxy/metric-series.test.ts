/**
 * Pre-bound series (proxy/process/metric-series.ts) against prom-client's own Counter and
 * Histogram: the same updates, side by side in two real Registries, give the same
 * exposition text, the same JSON and the same cluster aggregation.
 */
import { AggregatorRegistry, Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { LabelledCounter, LabelledHistogram } from '../../proxy/process/metric-series.js';

const BUCKETS = [0.001, 0.01, 0.1, 1, 10];
/** On a bound, between bounds, below the first, above the last, negative, zero, a sum that is not exact in binary. */
const OBSERVED = [0.001, 0.0005, 0.01, 0.02, 0.1, 0.3, 1, 9.99, 10, 10.0001, 1e6, -2, 0, 0.1, 0.2];

/** What cluster IPC does to a snapshot: it sends JSON. */
const overIpc = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** A prom-client registry and one of ours, with the same counters and histograms, updated alike. */
function sideBySide(k = 1) {
  const theirs = new Registry();
  const ours = new Registry();
  const plain = { name: 'x_connections_total', help: 'Connections.' };
  const labelled = {
    name: 'x_closed_total',
    help: 'Closed "by" route\\reason.',
    labelNames: ['route', 'reason'],
  };
  const hist = { name: 'x_duration_seconds', help: 'Durations.', labelNames: ['route'], buckets: BUCKETS };
  const theirPlain = new Counter({ ...plain, registers: [theirs] });
  const theirCounter = new Counter({ ...labelled, registers: [theirs] });
  const theirHist = new Histogram({ ...hist, registers: [theirs] });
  const theirPlainHist = new Histogram({
    name: 'x_lookup_seconds',
    help: 'Lookups.',
    buckets: BUCKETS,
    registers: [theirs],
  });
  const ourPlain = new LabelledCounter({ ...plain, registers: [ours] }).child({});
  const ourCounter = new LabelledCounter({ ...labelled, labelNames: ['route', 'reason'], registers: [ours] });
  const ourHist = new LabelledHistogram({ ...hist, labelNames: ['route'], registers: [ours] });
  const ourPlainHist = new LabelledHistogram({
    name: 'x_lookup_seconds',
    help: 'Lookups.',
    buckets: BUCKETS,
    registers: [ours],
  }).child({});

  // Series created at 0 first (as ProxyMetrics.addRoutes does), in a key order of their own.
  theirCounter.inc({ route: 'b', reason: 'ok' }, 0);
  ourCounter.child({ route: 'b', reason: 'ok' });
  theirCounter.inc({ reason: 'error', route: 'a"\n' }, 0);
  ourCounter.child({ reason: 'error', route: 'a"\n' });
  for (let i = 0; i < 3 * k; i++) {
    theirPlain.inc();
    ourPlain.inc();
    theirCounter.labels({ route: 'a"\n', reason: 'error' }).inc(0.5);
    ourCounter.child({ route: 'a"\n', reason: 'error' }).inc(0.5);
    theirCounter.inc({ route: 'c', reason: 'ok' }, 1024 * k);
    ourCounter.child({ route: 'c', reason: 'ok' }).inc(1024 * k);
  }
  for (const v of OBSERVED) {
    for (const route of ['r2', 'r1']) {
      theirHist.labels({ route }).observe(v * k);
      ourHist.child({ route }).observe(v * k);
    }
    theirPlainHist.observe(v);
    ourPlainHist.observe(v);
  }
  return { theirs, ours, ourPlain, ourCounter, ourHist, ourPlainHist };
}

describe('LabelledCounter and LabelledHistogram in a prom-client Registry', () => {
  it('give the exposition text prom-client gives for the same updates', async () => {
    const { theirs, ours } = sideBySide();
    const text = await ours.metrics();
    expect(text).toBe(await theirs.metrics());
    // Not vacuous: escaped label values in the key order first bound, cumulative buckets, +Inf.
    expect(text).toContain('x_closed_total{reason="error",route="a\\"\\n"} 1.5');
    expect(text).toContain('x_duration_seconds_bucket{le="0.001",route="r2"} 4');
    expect(text).toContain('x_duration_seconds_bucket{le="+Inf",route="r1"} 15');
    expect(text).toContain('x_lookup_seconds_count 15');
  });

  it('give the JSON prom-client gives, the same object graph', async () => {
    const { theirs, ours } = sideBySide();
    expect(await ours.getMetricsAsJSON()).toStrictEqual(await theirs.getMetricsAsJSON());
  });

  it('aggregate across processes as prom-client metrics do, after the trip over IPC too', async () => {
    const a = sideBySide(1);
    const b = sideBySide(2);
    const theirSnapshots = [await a.theirs.getMetricsAsJSON(), await b.theirs.getMetricsAsJSON()];
    const ourSnapshots = [await a.ours.getMetricsAsJSON(), await b.ours.getMetricsAsJSON()];
    const theirText = await AggregatorRegistry.aggregate(theirSnapshots).metrics();
    expect(await AggregatorRegistry.aggregate(ourSnapshots).metrics()).toBe(theirText);
    expect(await AggregatorRegistry.aggregate(overIpc(ourSnapshots)).metrics()).toBe(theirText);
    expect(theirText).toContain('x_connections_total 9');
    expect(await AggregatorRegistry.aggregate(ourSnapshots).getMetricsAsJSON()).toStrictEqual(
      await AggregatorRegistry.aggregate(theirSnapshots).getMetricsAsJSON(),
    );
  });

  it('keep the default labels and the single-metric reads of a Registry working', async () => {
    const { theirs, ours } = sideBySide();
    theirs.setDefaultLabels({ instance: 'i-1' });
    ours.setDefaultLabels({ instance: 'i-1' });
    expect(await ours.metrics()).toBe(await theirs.metrics());
    expect(await ours.getMetricsAsJSON()).toStrictEqual(await theirs.getMetricsAsJSON());
    expect(await ours.getSingleMetricAsString('x_duration_seconds')).toBe(
      await theirs.getSingleMetricAsString('x_duration_seconds'),
    );
  });

  it('bind one series per label set, whatever the key order of the labels object', () => {
    const { ourCounter, ourHist } = sideBySide();
    expect(ourCounter.child({ reason: 'ok', route: 'c' })).toBe(
      ourCounter.child({ route: 'c', reason: 'ok' }),
    );
    expect(ourHist.child({ route: 'r1' })).toBe(ourHist.child({ route: 'r1' }));
    expect(ourCounter.child({ route: 'c', reason: 'ok' }).value).toBe(3 * 1024);
    expect(ourCounter.labelNames).toEqual(['route', 'reason']);
  });

  it('run collect before every read, a scrape or a snapshot', async () => {
    const registry = new Registry();
    let calls = 0;
    const bytes = new LabelledCounter({
      name: 'x_bytes_total',
      help: 'Bytes.',
      labelNames: ['route'],
      registers: [registry],
      // As ProxyMetrics.beforeCollect: flush what open connections relayed so far.
      collect: () => {
        calls++;
        bytes.child({ route: 'r' }).inc(10);
      },
    });
    expect(await registry.metrics()).toContain('x_bytes_total{route="r"} 10');
    expect(await registry.getMetricsAsJSON()).toMatchObject([
      { values: [{ value: 20, labels: { route: 'r' } }] },
    ]);
    let done = false;
    new LabelledHistogram({
      name: 'x_wait_seconds',
      help: 'Waits.',
      buckets: [1],
      registers: [registry],
      collect: async () => {
        await new Promise((r) => setTimeout(r, 5));
        done = true;
      },
    });
    await registry.metrics();
    expect([calls, done]).toEqual([3, true]);
  });

  it('reset every series to 0 and keep exporting it, so bound series keep counting', async () => {
    const { ours, ourPlain, ourCounter, ourHist, ourPlainHist } = sideBySide();
    const series = ourCounter.child({ route: 'c', reason: 'ok' });
    ours.resetMetrics();
    const fresh = await ours.getMetricsAsJSON();
    const values = fresh.flatMap((m) => m.values.map((v) => v.value));
    expect(values.length).toBeGreaterThan(0);
    expect(values.every((v) => v === 0)).toBe(true);
    expect(fresh.find((m) => m.name === 'x_closed_total')!.values).toHaveLength(3);

    series.inc(2);
    ourPlain.inc();
    ourHist.child({ route: 'r1' }).observe(0.05);
    ourPlainHist.observe(100);
    const text = await ours.metrics();
    expect(text).toContain('x_closed_total{route="c",reason="ok"} 2');
    expect(text).toContain('x_connections_total 1');
    expect(text).toContain('x_duration_seconds_bucket{le="0.01",route="r1"} 0');
    expect(text).toContain('x_duration_seconds_bucket{le="0.1",route="r1"} 1');
    expect(text).toContain('x_duration_seconds_sum{route="r1"} 0.05');
    expect(text).toContain('x_lookup_seconds_bucket{le="10"} 0');
    expect(text).toContain('x_lookup_seconds_count 1');
  });

  it('drop what prom-client would throw on, since the data path must not throw', async () => {
    const { theirs, ours, ourPlain, ourHist } = sideBySide();
    const theirCounter = theirs.getSingleMetric('x_connections_total') as Counter;
    const theirHist = theirs.getSingleMetric('x_duration_seconds') as Histogram<'route'>;
    for (const bad of [NaN, Infinity, -Infinity]) {
      expect(() => theirHist.observe({ route: 'r1' }, bad)).toThrow(TypeError);
      expect(() => ourHist.child({ route: 'r1' }).observe(bad)).not.toThrow();
    }
    for (const bad of [Infinity, -Infinity, -1]) {
      expect(() => theirCounter.inc(bad)).toThrow();
      expect(() => ourPlain.inc(bad)).not.toThrow();
    }
    // Nothing was counted on either side, so the two still agree.
    expect(await ours.metrics()).toBe(await theirs.metrics());
    // prom-client lets a NaN increment through (its check is `value && !isFinite(value)`) and
    // the counter reads NaN from then on; a bound series drops it too.
    ourPlain.inc(NaN);
    expect(ourPlain.value).toBe(3);
  });

  it('register under their name once, as prom-client metrics do', () => {
    const registry = new Registry();
    new LabelledCounter({ name: 'x_total', help: 'X.', registers: [registry] });
    expect(() => new Counter({ name: 'x_total', help: 'X.', registers: [registry] })).toThrow(
      'A metric with the name x_total has already been registered.',
    );
  });
});

describe('label and option checks, once when a series is bound or a metric is made', () => {
  const counter = () =>
    new LabelledCounter({ name: 'x_closed_total', help: 'X.', labelNames: ['route', 'reason'] });

  it('name an unknown label, and the labels allowed', () => {
    const bad = { route: 'a', reson: 'ok' } as unknown as { route: string; reason: string };
    expect(() => counter().child(bad)).toThrow(
      'x_closed_total: label "reson" is not one of its labels (route, reason); pass exactly those',
    );
  });

  it('name a missing label', () => {
    const bad = { route: 'a' } as unknown as { route: string; reason: string };
    expect(() => counter().child(bad)).toThrow(
      'x_closed_total: label "reason" is missing; every one of route, reason needs a value',
    );
  });

  it('name a label whose value is not a string, and the value', () => {
    const bad = { route: 'a', reason: 7 } as unknown as { route: string; reason: string };
    expect(() => counter().child(bad)).toThrow(
      'x_closed_total: label "reason" must be a string, got number 7',
    );
  });

  it('refuse bad metric names, label names, the reserved "le", and buckets that are not increasing', () => {
    expect(() => new LabelledCounter({ name: 'x-total', help: 'X.' })).toThrow(
      'metric name "x-total" is not valid',
    );
    expect(() => new LabelledCounter({ name: 'x_total', help: '' })).toThrow('x_total: help text is empty');
    expect(() => new LabelledCounter({ name: 'x_total', help: 'X.', labelNames: ['1route'] })).toThrow(
      'x_total: label name "1route" is not valid',
    );
    expect(() => new LabelledCounter({ name: 'x_total', help: 'X.', labelNames: ['a', 'a'] })).toThrow(
      'x_total: label names repeat: a, a',
    );
    expect(
      () => new LabelledHistogram({ name: 'x_seconds', help: 'X.', labelNames: ['le'], buckets: [1] }),
    ).toThrow('x_seconds: label name "le" is not valid: "le" is reserved');
    for (const buckets of [[], [1, 1], [2, 1], [1, Infinity], [NaN]]) {
      expect(() => new LabelledHistogram({ name: 'x_seconds', help: 'X.', buckets })).toThrow(
        'x_seconds: buckets must be finite and strictly increasing',
      );
    }
  });
});
