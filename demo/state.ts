/**
 * What the demo has seen so far: the one mutable record the scenario updates and the live
 * view and summary read. Bounded: per-ENI counts, a capped latency sample, a few errors.
 */
import type { RequestResult } from './client.js';

export type WatchStatus = 'connecting' | 'streaming' | 'reconnecting' | 'failing' | 'stopped';

export interface DemoState {
  readonly mode: 'proxy' | 'no-proxy';
  readonly client: 'kubectl' | 'builtin';
  readonly hostname: string;
  /** What the client dials: the proxy, or the pinned ENI. */
  readonly target: string;
  readonly durationMs: number;
  readonly startedAt: number;
  metricsUrl?: string;
  ok: number;
  failed: number;
  /** Requests that were not started because too many were still in flight (slow machine). */
  skipped: number;
  readonly servedBy: Map<string, number>;
  /** Distinct error messages and how often each happened (at most MAX_ERRORS kinds). */
  readonly errors: Map<string, number>;
  firstFailureAtMs?: number;
  readonly latenciesMs: number[];
  dnsAnswer: readonly string[];
  readonly enis: Set<string>;
  rotations: number;
  /** Recent happenings, newest last (at most MAX_EVENTS). */
  readonly events: string[];
  readonly watch: {
    status: WatchStatus;
    events: number;
    /** Streams opened successfully. */
    streams: number;
    /** Streams the server side ended (its ENI went away). */
    endedByServer: number;
    /** Attempts to open a stream that failed. */
    failedOpens: number;
    lastEni?: string;
    lastError?: string;
  };
}

const MAX_LATENCIES = 10_000;
const MAX_ERRORS = 8;
const MAX_EVENTS = 6;

export function createState(init: {
  mode: DemoState['mode'];
  client: DemoState['client'];
  hostname: string;
  target: string;
  durationMs: number;
  dnsAnswer: readonly string[];
  enis: readonly string[];
  now?: number;
}): DemoState {
  return {
    mode: init.mode,
    client: init.client,
    hostname: init.hostname,
    target: init.target,
    durationMs: init.durationMs,
    startedAt: init.now ?? Date.now(),
    ok: 0,
    failed: 0,
    skipped: 0,
    servedBy: new Map(),
    errors: new Map(),
    latenciesMs: [],
    dnsAnswer: init.dnsAnswer,
    enis: new Set(init.enis),
    rotations: 0,
    events: [],
    watch: { status: 'connecting', events: 0, streams: 0, endedByServer: 0, failedOpens: 0 },
  };
}

export function recordRequest(s: DemoState, r: RequestResult, now = Date.now()): void {
  if (s.latenciesMs.length < MAX_LATENCIES) s.latenciesMs.push(r.latencyMs);
  if (r.ok) {
    s.ok++;
    s.servedBy.set(r.eni, (s.servedBy.get(r.eni) ?? 0) + 1);
    return;
  }
  s.failed++;
  s.firstFailureAtMs ??= now - s.startedAt;
  recordError(s, r.error);
}

export function recordError(s: DemoState, message: string): void {
  if (s.errors.has(message) || s.errors.size < MAX_ERRORS) {
    s.errors.set(message, (s.errors.get(message) ?? 0) + 1);
  } else {
    s.errors.set('(other errors)', (s.errors.get('(other errors)') ?? 0) + 1);
  }
}

export function recordEvent(s: DemoState, text: string, now = Date.now()): string {
  const line = `${elapsed(s, now)} ${text}`;
  s.events.push(line);
  if (s.events.length > MAX_EVENTS) s.events.shift();
  return line;
}

/** "12.3s" since the start. */
export function elapsed(s: DemoState, now = Date.now()): string {
  return `${((now - s.startedAt) / 1000).toFixed(1)}s`;
}

/** The q-quantile (0..1) of the latencies seen, or undefined before any request. */
export function quantile(values: readonly number[], q: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** Failures that decide the exit code: failed requests and watch streams that could not be opened. */
export function totalFailures(s: DemoState): number {
  return s.failed + s.watch.failedOpens;
}
