import { performance } from 'node:perf_hooks';
import { checkReadyz, checkVersion, createVerifyAgent } from './http-checks.js';
import { describeTarget } from './report.js';
import { checkResolve, systemLookup } from './resolve.js';
import { checkTcpConnect } from './tcp-connect.js';
import { checkTlsHandshake } from './tls-handshake.js';
import {
  HOPS,
  type Clock,
  type HopContext,
  type HopResult,
  type LookupFn,
  type VerifyReport,
  type VerifyTarget,
} from './types.js';

export interface VerifyOptions {
  readonly target: VerifyTarget;
  /** Bound on each hop. @default 5000 */
  readonly timeoutMs?: number;
  /** How the server name is resolved. @default the system resolver (getaddrinfo) */
  readonly lookup?: LookupFn;
  /** @default performance.now */
  readonly now?: Clock;
  /** Called as each hop finishes (for live output). */
  readonly onHop?: (result: HopResult) => void;
}

/** Walk the hops in order; stop at the first that fails and mark the rest skipped. */
export async function runVerify(options: VerifyOptions): Promise<VerifyReport> {
  const now = options.now ?? (() => performance.now());
  const ctx: HopContext = { target: options.target, timeoutMs: options.timeoutMs ?? 5000, now };
  const started = now();
  const hops: HopResult[] = [];
  const record = (result: HopResult): boolean => {
    const { hop, status, latencyMs, summary, code, hint, details } = result;
    const clean: HopResult = {
      hop,
      status,
      latencyMs: round(latencyMs),
      summary,
      details,
      ...(code ? { code } : {}),
      ...(hint ? { hint } : {}),
    };
    hops.push(clean);
    options.onHop?.(clean);
    return status !== 'fail';
  };

  await walk();
  for (const hop of HOPS.slice(hops.length)) {
    hops.push({
      hop,
      status: 'skipped',
      latencyMs: 0,
      summary: 'not run: an earlier hop failed',
      details: {},
    });
  }
  const failed = hops.find((h) => h.status === 'fail');
  const { target } = options;
  return {
    ok: failed === undefined,
    ...(failed ? { failedHop: failed.hop } : {}),
    target: describeTarget(target),
    hops,
    totalMs: round(now() - started),
  };

  async function walk(): Promise<void> {
    const resolved = await checkResolve(ctx, options.lookup ?? systemLookup);
    if (!record(resolved)) return;
    const tcp = await checkTcpConnect(ctx, resolved.addresses);
    if (!record(tcp)) return;
    // TLS and HTTP go to the first address that accepted TCP, so a failure names one address.
    const address = tcp.connected[0]!;
    if (!record(await checkTlsHandshake(ctx, address))) return;
    const agent = createVerifyAgent(ctx);
    try {
      if (!record(await checkVersion(ctx, agent, address))) return;
      record(await checkReadyz(ctx, agent, address));
    } finally {
      await agent.destroy();
    }
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
