/** The end-of-run summary and the verdict that sets the exit code. */
import { formatAddresses, formatMs, formatServedBy } from './format.js';
import { quantile, totalFailures, type DemoState } from './state.js';

export interface Verdict {
  readonly exitCode: number;
  readonly message: string;
}

export function verdict(s: DemoState, interrupted: boolean): Verdict {
  const failures = totalFailures(s);
  if (interrupted) return { exitCode: 130, message: 'interrupted: cleaned up and stopped early' };
  if (s.ok + s.failed === 0) return { exitCode: 1, message: 'FAIL: no request completed' };
  if (s.mode === 'no-proxy') {
    return failures > 0
      ? {
          exitCode: 1,
          message: `EXPECTED FAILURE without ekslink: ${failures} failures after the pinned ENI went away (exit 1 on purpose)`,
        }
      : {
          exitCode: 1,
          message:
            'no failures even without the proxy: the run was too short for the pinned ENI to be rotated out',
        };
  }
  return failures === 0
    ? { exitCode: 0, message: `PASS: every request succeeded through ${s.rotations} ENI rotations` }
    : { exitCode: 1, message: `FAIL: ${failures} failures through the proxy` };
}

/** `proxyLines`: the proxy's own figures (from its /metrics), when there was a proxy. */
export function formatSummary(
  s: DemoState,
  v: Verdict,
  runMs: number,
  proxyLines: readonly string[] = [],
): string {
  const lines = [
    '',
    `── ekslink demo summary (${s.mode === 'proxy' ? 'through the proxy' : 'no proxy: pinned to one ENI'}, client: ${s.client}) ──`,
    `hostname          ${s.hostname}`,
    `client dialled    ${s.target}`,
    `duration          ${(runMs / 1000).toFixed(1)} s`,
    `requests          ${s.ok + s.failed} total, ${s.ok} ok, ${s.failed} failed${s.skipped ? `, ${s.skipped} skipped (machine busy)` : ''}`,
    `latency           p50 ${formatMs(quantile(s.latenciesMs, 0.5))}, p99 ${formatMs(quantile(s.latenciesMs, 0.99))}, max ${formatMs(s.latenciesMs.length ? Math.max(...s.latenciesMs) : undefined)}`,
    `ENIs served       ${s.servedBy.size}: ${formatServedBy(s.servedBy)}`,
    `rotations         ${s.rotations}`,
    `DNS at the end    ${formatAddresses(s.dnsAnswer)}`,
    `watch             ${s.watch.streams} streams opened, ${s.watch.events} events, ${s.watch.endedByServer} ended by ENI removal, ${s.watch.failedOpens} failed opens`,
    ...(s.firstFailureAtMs === undefined
      ? []
      : [`first failure at  ${(s.firstFailureAtMs / 1000).toFixed(1)} s`]),
    ...[...s.errors.entries()].map(([m, n]) => `error ×${n}`.padEnd(18) + m),
    ...proxyLines,
    ...(s.metricsUrl ? [`proxy metrics     ${s.metricsUrl} (was live during the run)`] : []),
    v.message,
  ];
  return `${lines.join('\n')}\n`;
}
