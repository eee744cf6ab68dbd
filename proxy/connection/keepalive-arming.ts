/**
 * Turns on TCP keepalive for a spliced pair of sockets once the pair has lived ARM_AFTER_MS,
 * from one process-wide timer. Keepalive is for long-lived connections (idle kube watches
 * through the NLB's 350 s idle timeout, peers that vanish); setting it costs four
 * setsockopt calls per socket, which short requests, most connections, would pay for
 * nothing. The first probe still comes about `initialDelayMs` after the splice started:
 * the delay is shortened by ARM_AFTER_MS, down to the kernel's 1 s minimum.
 *
 * A pair that closes before its turn is cancelled: the queue lets go of its sockets at once.
 * Holding them for the second would keep every short connection's whole object graph alive
 * past a young-generation collection, to be copied, promoted and collected again by a full
 * one (measured: 72 against 42 scavenges per 3,000 connections, and the heap growing 10 ->
 * 26 MB under a connection load).
 */
import type { Socket } from 'node:net';
import { applyKeepAlive, type KeepAliveSettings } from '../upstream/dialer.js';

/** Connections younger than this never get keepalive set. */
export const ARM_AFTER_MS = 1000;

/** A pair waiting for its turn; `cancel` it when the pair closes first. */
export interface Pending {
  readonly due: number;
  /** undefined once cancelled. */
  sockets: readonly Socket[] | undefined;
  readonly settings: KeepAliveSettings;
}

/** What add() returns when there is nothing to wait for (no delay). */
const ARMED_AT_ONCE: Pending = {
  due: 0,
  sockets: undefined,
  settings: { initialDelayMs: 0, intervalMs: 0, count: 0 },
};

export class KeepAliveArming {
  private queue: Pending[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | undefined;
  private held = 0;

  constructor(
    private readonly afterMs = ARM_AFTER_MS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Arm these sockets' keepalive once they have lived `afterMs` (if still open then). */
  add(sockets: readonly Socket[], settings: KeepAliveSettings): Pending {
    if (this.afterMs <= 0) {
      for (const s of sockets) applyKeepAlive(s, settings);
      return ARMED_AT_ONCE;
    }
    const pending: Pending = { due: this.now() + this.afterMs, sockets, settings };
    this.queue.push(pending);
    this.held += 1;
    if (this.timer === undefined) {
      // Half the delay: a pair is armed between afterMs and 1.5 x afterMs after it started.
      this.timer = setInterval(() => this.sweep(), Math.max(1, this.afterMs / 2));
      this.timer.unref();
    }
    return pending;
  }

  /** The pair closed: never arm it, and hold its sockets no longer. Idempotent. */
  cancel(pending: Pending): void {
    if (pending.sockets === undefined) return;
    pending.sockets = undefined;
    this.held -= 1;
  }

  /** Pairs whose sockets the queue still holds (added, neither armed nor cancelled yet). */
  get holding(): number {
    return this.held;
  }

  /** Pairs waiting to be armed (for tests and metrics of the queue's size). */
  get pending(): number {
    return this.queue.length - this.head;
  }

  /** Whether its timer runs (only while pairs wait). */
  get sweeping(): boolean {
    return this.timer !== undefined;
  }

  /** Stop the timer; pending pairs are dropped (shutdown). */
  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.queue = [];
    this.head = 0;
    this.held = 0;
  }

  private sweep(): void {
    const now = this.now();
    while (this.head < this.queue.length && this.queue[this.head]!.due <= now) {
      const pending = this.queue[this.head]!;
      this.queue[this.head++] = undefined as unknown as Pending;
      const { sockets, settings } = pending;
      if (sockets === undefined) continue;
      this.cancel(pending);
      const shortened = {
        ...settings,
        initialDelayMs: Math.max(1000, settings.initialDelayMs - this.afterMs),
      };
      for (const s of sockets) if (!s.destroyed) applyKeepAlive(s, shortened);
    }
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
      clearInterval(this.timer);
      this.timer = undefined;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }
}
