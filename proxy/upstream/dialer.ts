/**
 * Connects to one of a route's upstream addresses: a short timeout per attempt, then the
 * next address. Addresses that failed within upstream.failureMemoryMs go last, so an ENI
 * that EKS just removed costs one timeout, not one per connection (Envoy's outlier
 * detection in its simplest form). The error lists every address tried.
 */
import { connect, type OnReadOpts, type Socket } from 'node:net';
import { UpstreamConnectError, type DialAttempt } from '../errors.js';
import type { ConnectResult } from '../observer.js';

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

/**
 * Stops a dial (the client went away). One per connection, so a plain object rather than
 * an AbortController, whose EventTarget costs more than the rest of the dial's bookkeeping.
 */
export class DialCancel {
  private reason: Error | undefined;
  private hook: ((reason: Error) => void) | undefined;

  get cancelled(): boolean {
    return this.reason !== undefined;
  }

  /** Idempotent; the attempt in progress fails with `reason`. */
  cancel(reason: Error = new Error('dial cancelled')): void {
    if (this.reason !== undefined) return;
    this.reason = reason;
    this.hook?.(reason);
  }

  throwIfCancelled(): void {
    if (this.reason !== undefined) throw this.reason;
  }

  /** The attempt in progress (one at a time); undefined clears it. */
  onCancel(hook: ((reason: Error) => void) | undefined): void {
    this.hook = hook;
  }
}

export interface DialOptions {
  readonly connectTimeoutMs: number;
  readonly failures?: FailureMemory;
  /** Which address goes first (see orderAddresses): a per-route counter. @default 0 */
  readonly turn?: number;
  /** Stop dialling (the client went away). */
  readonly cancel?: DialCancel;
  /** Called after each attempt, e.g. for metrics. */
  readonly onAttempt?: (result: ConnectResult, durationSec: number) => void;
  /** Read into caller-owned buffers (net `onread`) instead of Node's per-read ones. */
  readonly onread?: OnReadOpts;
}

/** TCP keepalive: first probe after `initialDelayMs` idle, then every `intervalMs`, `count` unanswered ones end it. */
export interface KeepAliveSettings {
  readonly initialDelayMs: number;
  readonly intervalMs: number;
  readonly count: number;
}

/** Turn on TCP keepalive with all three kernel settings (TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT). */
export function applyKeepAlive(socket: Socket, k: KeepAliveSettings): void {
  socket.setKeepAlive({
    enable: true,
    initialDelay: k.initialDelayMs,
    interval: k.intervalMs,
    count: k.count,
  });
}

export interface DialResult {
  readonly socket: Socket;
  readonly address: string;
  readonly port: number;
  /** Attempts that failed before this one succeeded. */
  readonly failed: readonly DialAttempt[];
}

/**
 * Per-key turns for orderAddresses: one counter per route, so routes (and the prober,
 * which has none) do not push each other's rotation around. Bounded by the keys used.
 */
export class RoundRobin {
  private readonly turns = new Map<string, number>();

  next(key: string): number {
    const turn = this.turns.get(key) ?? 0;
    this.turns.set(key, (turn + 1) % 0x7fffffff);
    return turn;
  }

  /** Forget keys no longer in use (after a reload). */
  retain(keys: ReadonlySet<string>): void {
    for (const key of this.turns.keys()) if (!keys.has(key)) this.turns.delete(key);
  }
}

/**
 * Order for trying: the addresses sorted (so the resolver's own order, fixed or rotating,
 * cannot cancel the spread), starting at `turn`; recently failed ones last.
 */
export function orderAddresses(
  addresses: readonly string[],
  port: number,
  failures: FailureMemory | undefined,
  turn = 0,
): string[] {
  const n = addresses.length;
  const sorted = n > 1 ? [...addresses].sort() : addresses;
  const start = n > 1 ? turn % n : 0;
  const fresh: string[] = [];
  const failed: string[] = [];
  for (let i = 0; i < n; i++) {
    const a = sorted[(start + i) % n] as string;
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
  for (const address of orderAddresses(addresses, port, options.failures, options.turn)) {
    options.cancel?.throwIfCancelled();
    const started = performance.now();
    try {
      const socket = await attempt(address, port, options);
      options.onAttempt?.('ok', (performance.now() - started) / 1000);
      options.failures?.noteSuccess(address, port);
      return { socket, address, port, failed };
    } catch (err) {
      if (options.cancel?.cancelled) throw err;
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
      ...(options.onread === undefined ? {} : { onread: options.onread }),
    });
    const cancel = options.cancel;
    let done = false;
    let immediate: NodeJS.Immediate | undefined;
    const finish = (err?: Error): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearImmediate(immediate);
      socket.off('connect', onConnect);
      socket.off('error', finish);
      cancel?.onCancel(undefined);
      if (err === undefined) {
        resolve(socket);
      } else {
        socket.destroy();
        reject(err);
      }
    };
    const onConnect = (): void => finish();
    // A timer that fires while the loop was busy must not beat a connect the kernel has
    // already completed: look once more after the poll phase has run the socket's own
    // events (undici's connect timeout does the same with setImmediate).
    const timer = setTimeout(() => {
      immediate = setImmediate(() => {
        if (!socket.connecting && !socket.destroyed) return finish();
        finish(
          Object.assign(
            new Error(`connect to ${address}:${port} timed out after ${options.connectTimeoutMs} ms`),
            { code: 'ETIMEDOUT' },
          ),
        );
      });
    }, options.connectTimeoutMs);
    // `on`, not `once`: finish removes both, and once's wrappers are two more objects a dial.
    socket.on('connect', onConnect);
    socket.on('error', finish);
    cancel?.onCancel(finish);
  });
}
