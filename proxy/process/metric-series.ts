/**
 * Counters and histograms whose labelled series are bound once, for the metrics the data
 * path updates on every connection. prom-client's own children validate and hash their
 * labels, allocate, and look a bucket up by a float-keyed property on every update; a
 * series bound here is a plain object, so an update is a few field writes. What a
 * prom-client Registry reads (`name`, `help`, `type`, `aggregator`, `get()`, `reset()`)
 * has exactly the shape prom-client's Counter and Histogram give, so the exposition text,
 * the JSON snapshot and cluster aggregation are unchanged.
 */
import type { Metric, Registry } from 'prom-client';

/** One value per label name. */
export type LabelSet<L extends string> = Readonly<Record<L, string>>;

export interface SeriesMetricOptions<L extends string> {
  /** Metric name, `ekslink_`-prefixed by the caller. */
  readonly name: string;
  readonly help: string;
  /** @default [] (one series, bound at construction) */
  readonly labelNames?: readonly L[];
  /** Registries that expose the metric. @default [] */
  readonly registers?: readonly Registry[];
  /** Runs before every read of the values (a scrape or a snapshot), as prom-client's `collect` does. */
  readonly collect?: () => void | Promise<void>;
}

export interface HistogramOptions<L extends string> extends SeriesMetricOptions<L> {
  /** Upper bounds, finite and strictly increasing; `+Inf` is implied. */
  readonly buckets: readonly number[];
}

/** One counter series, bound to its labels. */
export class CounterSeries {
  value = 0;

  constructor(readonly labels: Readonly<Record<string, string>>) {}

  /** Adds `n` (default 1). A negative or non-finite `n` is dropped: prom-client throws on most (NaN it adds), and the data path must not throw. */
  inc(n = 1): void {
    if (n >= 0 && n !== Infinity) this.value += n;
  }
}

/** One histogram series, bound to its labels. */
export class HistogramSeries {
  /** Observations per bucket, not cumulative; the last slot holds those above every bound. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly labels: Readonly<Record<string, string>>,
    private readonly bounds: Float64Array,
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  /** Counts `v` in the first bucket whose bound is >= `v`. NaN and ±Infinity are dropped: prom-client throws, and the data path must not. */
  observe(v: number): void {
    if (!Number.isFinite(v)) return;
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && v > bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += v;
    this.count++;
  }
}

/**
 * What both kinds share: the checked name, help and label names, the series bound once per
 * label set, the `collect` hook, registration. A metric without labels has its one series
 * from the start, as prom-client's do.
 */
abstract class BoundMetric<L extends string, S> {
  abstract readonly type: 'counter' | 'histogram';
  readonly aggregator = 'sum';
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly L[];
  protected readonly series: SeriesSet<L, S>;
  protected readonly collect: (() => void | Promise<void>) | undefined;

  constructor(
    options: SeriesMetricOptions<L>,
    reservedLabels: readonly string[],
    make: (labels: Readonly<Record<string, string>>) => S,
  ) {
    this.name = checkedName(options.name);
    this.help = checkedHelp(options.name, options.help);
    this.labelNames = checkedLabelNames(options.name, options.labelNames ?? [], reservedLabels);
    this.collect = options.collect;
    this.series = new SeriesSet(this.name, this.labelNames, make);
    if (this.labelNames.length === 0) this.child({} as LabelSet<L>);
    // Registry reads only name, help, type, aggregator, get() and reset(); its types ask for prom-client's own classes.
    for (const r of options.registers ?? []) r.registerMetric(this as unknown as Metric);
  }

  /** The series of these labels, created at 0 (and from then on exported) on first use. */
  child(labels: LabelSet<L>): S {
    return this.series.get(labels);
  }
}

/** A counter whose series are bound once per label set with `child()`. */
export class LabelledCounter<L extends string = never> extends BoundMetric<L, CounterSeries> {
  readonly type = 'counter';

  constructor(options: SeriesMetricOptions<L>) {
    super(options, [], (labels) => new CounterSeries(labels));
  }

  /** What prom-client's `Counter.get()` returns: one `{ value, labels }` per series, in creation order. */
  async get(): Promise<MetricJson> {
    await runCollect(this.collect);
    const values: CounterValue[] = [];
    for (const s of this.series.all()) values.push({ value: s.value, labels: s.labels });
    // Key order as prom-client's Counter (help first; its Histogram puts name first).
    return { help: this.help, name: this.name, type: this.type, values, aggregator: this.aggregator };
  }

  /**
   * Every series back to 0, still exported. prom-client's reset drops labelled series, which
   * its children re-create on their next update; a bound series has no such path, so
   * dropping it would lose every later update.
   */
  reset(): void {
    for (const s of this.series.all()) s.value = 0;
  }
}

/** A histogram whose series are bound once per label set with `child()`. */
export class LabelledHistogram<L extends string = never> extends BoundMetric<L, HistogramSeries> {
  readonly type = 'histogram';
  private readonly bounds: Float64Array;

  constructor(options: HistogramOptions<L>) {
    const bounds = Float64Array.from(checkedBuckets(options.name, options.buckets));
    super(options, ['le'], (labels) => new HistogramSeries(labels, bounds));
    this.bounds = bounds;
  }

  /** What prom-client's `Histogram.get()` returns: per series its cumulative buckets, `+Inf`, `_sum`, `_count`. */
  async get(): Promise<MetricJson> {
    await runCollect(this.collect);
    return this.export(true);
  }

  /** What prom-client's `Histogram.getForPromString()` returns: the same, with the series' labels apart as `sharedLabels`. */
  async getForPromString(): Promise<MetricJson> {
    await runCollect(this.collect);
    return this.export(false);
  }

  /** Every series back to empty, still exported (see `LabelledCounter.reset`). */
  reset(): void {
    for (const s of this.series.all()) {
      s.counts.fill(0);
      s.sum = 0;
      s.count = 0;
    }
  }

  /**
   * Values in prom-client's order and shape, key order included. `exemplar` is there as in
   * prom-client's own (null on buckets, undefined on `_sum` and `_count`), so a snapshot is
   * the same object graph.
   */
  private export(splay: boolean): MetricJson {
    const values: HistogramValue[] = [];
    const add = (
      own: Record<string, string | number>,
      shared: Readonly<Record<string, string>>,
      value: number,
      metricName: string,
      exemplar: null | undefined,
    ): void => {
      values.push(
        splay
          ? { value, metricName, exemplar, labels: { ...own, ...shared } }
          : { labels: own, sharedLabels: shared, value, metricName, exemplar },
      );
    };
    const bucket = `${this.name}_bucket`;
    for (const s of this.series.all()) {
      let cumulative = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        cumulative += s.counts[i]!;
        add({ le: this.bounds[i]! }, s.labels, cumulative, bucket, null);
      }
      add({ le: '+Inf' }, s.labels, s.count, bucket, null);
      add({}, s.labels, s.sum, `${this.name}_sum`, undefined);
      add({}, s.labels, s.count, `${this.name}_count`, undefined);
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}

interface CounterValue {
  readonly value: number;
  readonly labels: Readonly<Record<string, string>>;
}
interface HistogramValue {
  readonly value: number;
  readonly labels: Readonly<Record<string, string | number>>;
  readonly metricName: string;
  readonly exemplar: null | undefined;
  readonly sharedLabels?: Readonly<Record<string, string>>;
}
/** One metric as prom-client's `get()` gives it, and its `Registry.getMetricsAsJSON()` lists it. */
export interface MetricJson {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'histogram';
  readonly values: readonly (CounterValue | HistogramValue)[];
  readonly aggregator: 'sum';
}

/** The series of one metric, one per label set, in creation order (the order they are exported in). */
class SeriesSet<L extends string, S> {
  private readonly byKey = new Map<string, S>();

  constructor(
    private readonly metric: string,
    private readonly labelNames: readonly L[],
    private readonly make: (labels: Readonly<Record<string, string>>) => S,
  ) {}

  get(labels: LabelSet<L>): S {
    const key = this.keyOf(labels);
    let s = this.byKey.get(key);
    if (s === undefined) {
      // A copy, frozen: the exported labels cannot change under a caller that reuses its object.
      s = this.make(Object.freeze({ ...labels }));
      this.byKey.set(key, s);
    }
    return s;
  }

  all(): IterableIterator<S> {
    return this.byKey.values();
  }

  /** Checks the label set (once per lookup, never per update) and keys it by its values in label-name order. */
  private keyOf(labels: LabelSet<L>): string {
    const names = this.labelNames;
    for (const name of Object.keys(labels)) {
      if (!(names as readonly string[]).includes(name)) {
        throw new TypeError(
          `${this.metric}: label "${name}" is not one of its labels (${list(names)}); pass exactly those`,
        );
      }
    }
    const values: string[] = [];
    for (const name of names) {
      const v: unknown = labels[name];
      if (typeof v !== 'string') {
        throw new TypeError(
          v === undefined
            ? `${this.metric}: label "${name}" is missing; every one of ${list(names)} needs a value`
            : `${this.metric}: label "${name}" must be a string, got ${typeof v} ${String(v)}`,
        );
      }
      values.push(v);
    }
    return JSON.stringify(values);
  }
}

// The rules prom-client applies (lib/validation.js), from the Prometheus data model.
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function checkedName(name: string): string {
  if (!METRIC_NAME.test(name)) {
    throw new TypeError(
      `metric name "${name}" is not valid: it must match ${METRIC_NAME}, e.g. "ekslink_x_total"`,
    );
  }
  return name;
}

function checkedHelp(name: string, help: string): string {
  if (help === '') throw new TypeError(`${name}: help text is empty; say what the metric counts`);
  return help;
}

function checkedLabelNames<L extends string>(
  metric: string,
  names: readonly L[],
  reserved: readonly string[],
): readonly L[] {
  for (const name of names) {
    if (!LABEL_NAME.test(name) || reserved.includes(name)) {
      const rule = reserved.includes(name) ? `"${name}" is reserved` : `it must match ${LABEL_NAME}`;
      throw new TypeError(`${metric}: label name "${name}" is not valid: ${rule}`);
    }
  }
  if (new Set(names).size !== names.length)
    throw new TypeError(`${metric}: label names repeat: ${list(names)}`);
  return Object.freeze([...names]);
}

function checkedBuckets(metric: string, buckets: readonly number[]): readonly number[] {
  const bad = buckets.findIndex((b, i) => !Number.isFinite(b) || (i > 0 && b <= buckets[i - 1]!));
  if (buckets.length === 0 || bad !== -1) {
    throw new TypeError(
      `${metric}: buckets must be finite and strictly increasing (+Inf is implied), got [${buckets.join(', ')}]`,
    );
  }
  return buckets;
}

function list(names: readonly string[]): string {
  return names.length === 0 ? 'none' : names.join(', ');
}

/** As prom-client's metrics do: `collect` may be synchronous or return a promise. */
async function runCollect(collect: (() => void | Promise<void>) | undefined): Promise<void> {
  const v = collect?.();
  if (v instanceof Promise) await v;
}
