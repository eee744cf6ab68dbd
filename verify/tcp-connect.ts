import { connect } from 'node:net';
import type { HopContext, HopResult } from './types.js';

/** One address's TCP connect result. */
export interface AddressConnect {
  readonly address: string;
  readonly ok: boolean;
  readonly latencyMs: number;
  /** Socket error code (ECONNREFUSED, ETIMEDOUT, ...) when ok is false. */
  readonly error?: string;
}

/** Connect to one address and close at once; never rejects. */
export function connectOnce(
  address: string,
  port: number,
  timeoutMs: number,
  now: () => number,
): Promise<AddressConnect> {
  const start = now();
  return new Promise((resolve) => {
    const socket = connect({ host: address, port });
    const done = (ok: boolean, error?: string): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ address, ok, latencyMs: now() - start, ...(error === undefined ? {} : { error }) });
    };
    const timer = setTimeout(() => done(false, 'ETIMEDOUT'), timeoutMs);
    socket.once('connect', () => done(true));
    socket.once('error', (err: NodeJS.ErrnoException) => done(false, err.code ?? err.message));
  });
}

const CODE_BY_ERROR: Readonly<Record<string, { code: string; hint: string }>> = {
  ECONNREFUSED: {
    code: 'EKL_VERIFY_TCP_REFUSED',
    hint: 'nothing listens on that port there, or a host firewall rejects: check the port, the NLB listener or proxy, the target',
  },
  ETIMEDOUT: {
    code: 'EKL_VERIFY_TCP_TIMEOUT',
    hint: 'packets are dropped on the way: check security groups (TCP 443 from this source), NACLs, route tables, peering/TGW routes, the tunnel',
  },
  EHOSTUNREACH: {
    code: 'EKL_VERIFY_TCP_UNREACHABLE',
    hint: 'no route from this host: check the local route for the destination CIDR (tunnel, peering)',
  },
  ENETUNREACH: {
    code: 'EKL_VERIFY_TCP_UNREACHABLE',
    hint: 'no route from this host: check the local route for the destination CIDR (tunnel, peering)',
  },
};

/** Hop 2: TCP connect to every resolved address, concurrently; passes when at least one connects. */
export async function checkTcpConnect(
  ctx: HopContext,
  addresses: readonly string[],
): Promise<HopResult & { connected: string[] }> {
  const start = ctx.now();
  const results = await Promise.all(
    addresses.map((a) => connectOnce(a, ctx.target.port, ctx.timeoutMs, ctx.now)),
  );
  const latencyMs = ctx.now() - start;
  const connected = results.filter((r) => r.ok).map((r) => r.address);
  const failed = results.filter((r) => !r.ok);
  const perAddress = results
    .map((r) => `${r.address}:${ctx.target.port} ${r.ok ? `${r.latencyMs.toFixed(1)} ms` : r.error}`)
    .join(', ');
  const details = { port: ctx.target.port, addresses: results };
  if (failed.length === 0) {
    return { hop: 'tcp-connect', status: 'ok', latencyMs, summary: perAddress, details, connected };
  }
  if (connected.length > 0) {
    return {
      hop: 'tcp-connect',
      status: 'warn',
      latencyMs,
      summary: `${connected.length} of ${results.length} addresses accept TCP: ${perAddress}`,
      code: 'EKL_VERIFY_TCP_PARTIAL',
      hint: `clients that pick ${failed.map((f) => f.address).join(', ')} will fail: check that address's AZ, route and security group`,
      details,
      connected,
    };
  }
  const first = failed[0]!.error ?? 'UNKNOWN';
  const mapped = CODE_BY_ERROR[first] ?? { code: 'EKL_VERIFY_TCP_FAILED', hint: `socket error ${first}` };
  return {
    hop: 'tcp-connect',
    status: 'fail',
    latencyMs,
    summary: `no address accepts TCP on port ${ctx.target.port}: ${perAddress}`,
    code: mapped.code,
    hint: mapped.hint,
    details,
    connected,
  };
}
