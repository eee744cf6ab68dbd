/**
 * Connects to one of a route's upstream addresses: a short timeout per attempt, then the
 * next address. Addresses that failed within upstream.failureMemoryMs go last, so an ENI
 * that EKS just removed costs one timeout, not one per connection (Envoy's outlier
 * detection in its simplest form). The error lists every address tried.
 */
import { connect, type Socket } from 'node:net';
import { UpstreamConnectError, type DialAttempt } from './errors.js';
import type { ConnectResult } from './observer.js';

/** Remembers addresses that failed recently. Bounded: old entries are swept as it grows. */
export class FailureMemory {
  private readonly failedAt = new Map<string, number>();

  constructor(
    private memoryMs: number,
    private readonly now: () => number = Date.now,
    private readonly maxEntries = 4096,
  ) {}

  set ttlMs(ms: number) {
    this.memoryMs = ms;
  }

  noteFailure(address: string, port: number): void {
    if (this.memoryMs <= 0) return;
    if (this.failedAt.size >= this.maxEntries) this.sweep();
    this.failedAt.set(`${address}|${port}`, this.now());
  }

  noteSuccess(address: string, port: number): void {
    this.failedAt.delete(`${address}|${port}`);
  }

  isRecent(address: string, port: number): boolean {
    const at = this.failedAt.get(`${address}|${port}`);
    if (at === undefined) return false;
    if (this.now() - at < this.memoryMs) return true;
    this.failedAt.delete(`${address}|${port}`);
    return false;
  }

  private sweep(): void {
    const now = this.now();
    for (const [key, at] of this.failedAt) if (now - at >= this.memoryMs) this.failedAt.delete(key);
    // Still full of fresh failures: forget the oldest rather than grow without bound.
    if (this.failedAt.size >= this.maxEntries) {
      const oldest = this.failedAt.keys().next().value;
      if (oldest !== undefined) this.failedAt.delete(oldest);
    }
  }
}

export interface DialOptions {
  readonly connectTimeoutMs: number;
  readonly failures?: FailureMemory;
  /** TCP keepalive initial delay for the upstream socket. @default no keepalive */
  readonly keepAliveInitialDelayMs?: number;
  /** Abort dialling (the client went away). */
  readonly signal?: AbortSignal;
  /** Called after each attempt, e.g. for metrics. */
  readonly onAttempt?: (result: ConnectResult, durationSec: number) => void;
}

export interface DialResult {
  readonly socket: Socket;
  readonly address: string;
  readonly port: number;
  /** Attempts that failed before this one succeeded. */
  readonly failed: readonly DialAttempt[];
}

let rotation = 0;

/**
 * Order for trying: fresh addresses first, starting at a rotating offset so load spreads
 * over the ENIs even when DNS returns them in a fixed order; recently failed ones last.
 */
export function orderAddresses(
  addresses: readonly string[],
  port: number,
  failures: FailureMemory | undefined,
): string[] {
  const n = addresses.length;
  const start = n > 1 ? rotation++ % n : 0;
  const fresh: string[] = [];
  const failed: string[] = [];
  for (let i = 0; i < n; i++) {
    const a = addresses[(start + i) % n] as string;
    (failures?.isRecent(a, port) ? failed : fresh).push(a);
  }
  return fresh.concat(failed);
}

/** Connect to the first address that accepts; throws UpstreamConnectError listing every attempt. */
export async function dial(
  addresses: readonly string[],
  port: number,
  options: DialOptions,
): Promise<DialResult> {
  const failed: DialAttempt[] = [];
  let lastError: unknown;
  for (const address of orderAddresses(addresses, port, options.failures)) {
    options.signal?.throwIfAborted();
    const started = performance.now();
    try {
      const socket = await attempt(address, port, options);
      options.onAttempt?.('ok', (performance.now() - started) / 1000);
      options.failures?.noteSuccess(address, port);
      return { socket, address, port, failed };
    } catch (err) {
      if (options.signal?.aborted) throw err;
      const errorCode = (err as NodeJS.ErrnoException).code ?? 'ERROR';
      const result = classify(errorCode);
      options.onAttempt?.(result, (performance.now() - started) / 1000);
      options.failures?.noteFailure(address, port);
      failed.push({ address, port, result, errorCode });
      lastError = err;
    }
  }
  throw new UpstreamConnectError(failed, lastError);
}

function classify(code: string): DialAttempt['result'] {
  switch (code) {
    case 'ECONNREFUSED':
      return 'refused';
    case 'ETIMEDOUT':
      return 'timeout';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
      return 'unreachable';
    default:
      return 'error';
  }
}

function attempt(address: string, port: number, options: DialOptions): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: address,
      port,
      allowHalfOpen: true,
      noDelay: true,
      ...(options.keepAliveInitialDelayMs === undefined
        ? {}
        : { keepAlive: true, keepAliveInitialDelay: options.keepAliveInitialDelayMs }),
    });
    const signal = options.signal;
    const finish = (err?: Error): void => {
      clearTimeout(timer);
      socket.off('connect', onConnect);
      socket.off('error', finish);
      signal?.removeEventListener('abort', onAbort);
      if (err === undefined) {
        resolve(socket);
      } else {
        socket.destroy();
        reject(err);
      }
    };
    const onConnect = (): void => finish();
    const onAbort = (): void =>
      finish(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
    const timer = setTimeout(
      () =>
        finish(
          Object.assign(
            new Error(`connect to ${address}:${port} timed out after ${options.connectTimeoutMs} ms`),
            {
              code: 'ETIMEDOUT',
            },
          ),
        ),
      options.connectTimeoutMs,
    );
    socket.once('connect', onConnect);
    socket.once('error', finish);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
