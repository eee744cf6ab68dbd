/**
 * The compact live view. On a terminal it is redrawn in place a few times a second; when
 * stdout is a pipe or a file it prints only what happened (rotations, watch changes) and a
 * status line every few seconds: no progress spam in CI logs.
 */
import { formatAddresses, formatMs, formatServedBy } from './format.js';
import { elapsed, quantile, type DemoState } from './state.js';

export interface Output {
  write(text: string): void;
}

export interface LiveViewOptions {
  readonly out: Output;
  /** Redraw in place (stdout is a TTY). */
  readonly tty: boolean;
  /** @default 80 */
  readonly columns?: number;
  /** Non-TTY status line period. @default 5000 */
  readonly statusEveryMs?: number;
  readonly now?: () => number;
}

export class LiveView {
  readonly #o: LiveViewOptions;
  readonly #now: () => number;
  #drawnLines = 0;
  #lastStatusAt: number;

  constructor(options: LiveViewOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#lastStatusAt = this.#now();
  }

  /** Something happened (a rotation step, the watch ended): a line of its own when not a TTY. */
  event(line: string): void {
    if (!this.#o.tty) this.#o.out.write(`${line}\n`);
  }

  /** Called on a timer. */
  refresh(state: DemoState): void {
    if (this.#o.tty) {
      const lines = renderPanel(state, this.#now(), this.#o.columns ?? 80);
      const up = this.#drawnLines > 0 ? `\x1b[${this.#drawnLines}F` : '';
      this.#o.out.write(`${up}\x1b[J${lines.join('\n')}\n`);
      this.#drawnLines = lines.length;
      return;
    }
    if (this.#now() - this.#lastStatusAt >= (this.#o.statusEveryMs ?? 5000)) {
      this.#lastStatusAt = this.#now();
      this.#o.out.write(`${statusLine(state, this.#now())}\n`);
    }
  }

  /** Leaves the last panel on screen; the summary prints below it. */
  finish(state: DemoState): void {
    if (this.#o.tty) this.refresh(state);
    this.#drawnLines = 0;
  }
}

/** The in-place panel: at most 10 lines, each cut to the terminal width. */
export function renderPanel(s: DemoState, now: number, columns: number): string[] {
  const p50 = quantile(s.latenciesMs, 0.5);
  const p99 = quantile(s.latenciesMs, 0.99);
  const lines = [
    `ekslink demo · ${s.mode === 'proxy' ? 'through the ekslink proxy' : 'NO PROXY (client pinned to one ENI)'} · ${s.client} · ${elapsed(s, now)} / ${(s.durationMs / 1000).toFixed(0)}s`,
    `  requests   ok ${s.ok}   failed ${s.failed}${s.skipped ? `   skipped ${s.skipped}` : ''}   p50 ${formatMs(p50)}   p99 ${formatMs(p99)}`,
    `  served by  ${formatServedBy(s.servedBy)}`,
    `  DNS now    ${formatAddresses(s.dnsAnswer)}`,
    `  ENIs up    ${formatAddresses([...s.enis])}   rotations ${s.rotations}`,
    `  watch      ${watchText(s)}`,
    ...(s.errors.size > 0 ? [`  last error ${[...s.errors.keys()].at(-1)}`] : []),
    ...s.events.slice(-3).map((e) => `  · ${e}`),
  ];
  return lines.map((l) => (l.length > columns ? `${l.slice(0, columns - 1)}…` : l));
}

/** One line for logs. */
export function statusLine(s: DemoState, now: number): string {
  return `[${elapsed(s, now)}] ok=${s.ok} failed=${s.failed} servedBy=${formatServedBy(s.servedBy)} dns=${s.dnsAnswer.join(',')} rotations=${s.rotations} watch=${s.watch.status}/${s.watch.events} events`;
}

export function watchText(s: DemoState): string {
  const w = s.watch;
  const from = w.lastEni ? ` from ${w.lastEni}` : '';
  const reopened = w.streams > 1 ? `, re-opened ${w.streams - 1}×` : '';
  const failed = w.failedOpens > 0 ? `, ${w.failedOpens} failed opens` : '';
  return `${w.status}${w.status === 'streaming' ? from : ''}, ${w.events} events${reopened}${failed}`;
}
