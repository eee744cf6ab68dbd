/**
 * Turns on TCP keepalive for a spliced pair of sockets once the pair has lived ARM_AFTER_MS,
 * from one process-wide timer. Keepalive is for long-lived connections (idle kube watches
 * through the NLB's 350 s idle timeout, peers that vanish); setting it costs four
 * setsockopt calls per socket, which short requests, most connections, would pay for
 * nothing. The first probe still comes about `initialDelayMs` after the splice started:
 * the delay is shortened by ARM_AFTER_MS, down to the kernel's 1 s minimum.
 */
import type { Socket } from 'node:net';
import { applyKeepAlive, type KeepAliveSettings } from '../upstream/dialer.js';

/** Connections younger than this never get keepalive set. */
export const ARM_AFTER_MS = 1000;

interface Pending {
  readonly due: number;
  readonly sockets: readonly Socket[];
  readonly settings: KeepAliveSettings;
}

export class KeepAliveArming {
  private queue: Pending[] = [];
  private head = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly afterMs = ARM_AFTER_MS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Arm these sockets' keepalive once they have lived `afterMs` (if still open then). */
  add(sockets: readonly Socket[], settings: KeepAliveSettings): void {
    if (this.afterMs <= 0) {
      for (const s of sockets) applyKeepAlive(s, settings);
      return;
    }
    this.queue.push({ due: this.now() + this.afterMs, sockets, settings });
    if (this.timer === undefined) {
      // Half the delay: a pair is armed between afterMs and 1.5 x afterMs after it started.
      this.timer = setInterval(() => this.sweep(), Math.max(1, this.afterMs / 2));
      this.timer.unref();
    }
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
  }

  private sweep(): void {
    const now = this.now();
    while (this.head < this.queue.length && this.queue[this.head]!.due <= now) {
      const { sockets, settings } = this.queue[this.head]!;
      this.queue[this.head++] = undefined as unknown as Pending;
      const waited = this.afterMs;
      const shortened = { ...settings, initialDelayMs: Math.max(1000, settings.initialDelayMs - waited) };
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
