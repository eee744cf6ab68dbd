/** Time as the engine sees it: injected so tests of retries and waiters do not sleep for real. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/**
 * A clock whose sleeps return at once and advance its own time: retry and waiter tests
 * assert on the delays asked for without waiting them out.
 */
export class ManualClock implements Clock {
  readonly sleeps: number[] = [];
  constructor(private time = 0) {}

  now(): number {
    return this.time;
  }

  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.time += ms;
  }
}
