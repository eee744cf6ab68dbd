/**
 * Reads the proxy's own account of the run from its /metrics endpoint (Prometheus text), so
 * the summary can set what the client saw beside what the proxy did.
 */

export interface ProxyFigures {
  readonly connectionsOpened: number;
  /** Close reason -> count (the proxy's closed set of reasons). */
  readonly closedByReason: ReadonlyMap<string, number>;
  readonly upstreamConnectFailures: number;
  readonly dnsLookups: number;
  readonly dnsStaleAnswers: number;
}

interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const SAMPLE = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /(\w+)="((?:[^"\\]|\\.)*)"/g;

/** Parses the sample lines of the Prometheus text format (comments and HELP/TYPE skipped). */
export function parsePrometheusText(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1]!] = l[2]!;
    const value = Number(m[3]);
    if (Number.isFinite(value)) out.push({ name: m[1]!, labels, value });
  }
  return out;
}

export function proxyFigures(text: string): ProxyFigures {
  const samples = parsePrometheusText(text);
  const sum = (name: string): number =>
    samples.filter((s) => s.name === name).reduce((a, s) => a + s.value, 0);
  const closedByReason = new Map<string, number>();
  for (const s of samples) {
    if (s.name !== 'ekslink_connections_closed_total' || s.value === 0) continue;
    const reason = s.labels.reason ?? 'unknown';
    closedByReason.set(reason, (closedByReason.get(reason) ?? 0) + s.value);
  }
  return {
    connectionsOpened: sum('ekslink_connections_opened_total'),
    closedByReason,
    upstreamConnectFailures: sum('ekslink_upstream_connect_failures_total'),
    dnsLookups: sum('ekslink_dns_lookup_duration_seconds_count'),
    dnsStaleAnswers: sum('ekslink_dns_stale_answers_total'),
  };
}

/** Fetches and reads /metrics; undefined if the proxy does not answer within `timeoutMs`. */
export async function fetchProxyFigures(url: string, timeoutMs = 2000): Promise<ProxyFigures | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) return undefined;
    return proxyFigures(await res.text());
  } catch {
    return undefined;
  }
}

export function formatProxyFigures(f: ProxyFigures): string[] {
  const closed = [...f.closedByReason.entries()]
    .sort(([, a], [, b]) => b - a)
    .map(([r, n]) => `${r} ${n}`)
    .join(', ');
  return [
    `proxy connections ${f.connectionsOpened} opened; closed: ${closed || '(none)'}`,
    `proxy upstream    ${f.dnsLookups} DNS lookups (${f.dnsStaleAnswers} stale), ${f.upstreamConnectFailures} connect failures (retried on the next address)`,
  ];
}
