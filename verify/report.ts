import type { HopResult, VerifyReport, VerifyTarget } from './types.js';

const MARK: Record<HopResult['status'], string> = { ok: 'ok  ', warn: 'WARN', fail: 'FAIL', skipped: '--  ' };

/** One block per hop, for a person; ends with the verdict and, on failure, the hop that failed and why. */
export function formatHuman(report: VerifyReport): string {
  const lines = [formatHeader(report.target)];
  for (const hop of report.hops) lines.push(...formatHop(hop));
  lines.push(formatVerdict(report));
  return `${lines.join('\n')}\n`;
}

/** What is checked: server, SNI, CA and where they came from. */
export function formatHeader(t: VerifyReport['target']): string {
  return `ekslink verify ${t.server}  sni=${t.tlsServerName ?? '(none)'}  ca=${t.ca}  (from ${t.source})`;
}

/** The last line: OK, OK with warnings, or the hop that failed and why. */
export function formatVerdict(report: VerifyReport): string {
  const failed = report.hops.find((h) => h.status === 'fail');
  if (failed) return `FAILED at ${failed.hop}: ${failed.summary}`;
  const warned = report.hops.filter((h) => h.status === 'warn').map((h) => h.hop);
  return warned.length === 0
    ? `OK: every hop passed in ${report.totalMs} ms`
    : `OK with warnings (${warned.join(', ')}): the path works; see above (${report.totalMs} ms)`;
}

/** The hop's line, plus its code and hint when it needs attention. */
export function formatHop(hop: HopResult): string[] {
  const latency = hop.status === 'skipped' ? '' : ` (${hop.latencyMs} ms)`;
  const lines = [`[${MARK[hop.status]}] ${hop.hop.padEnd(13)} ${hop.summary}${latency}`];
  if (hop.code) lines.push(`       ${hop.code}: ${hop.hint ?? ''}`);
  return lines;
}

/** The report as one JSON document (stable field names; documented in docs/verify.md). */
export function formatJson(report: VerifyReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

/** The target as the report shows it. */
export function describeTarget(target: VerifyTarget): VerifyReport['target'] {
  return {
    server: `${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`,
    tlsServerName: target.tlsServerName ?? null,
    ca: target.caSource ?? (target.caPem === undefined ? 'Node default roots' : 'given'),
    source: target.source,
  };
}
