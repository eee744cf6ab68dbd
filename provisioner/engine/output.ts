import type { MessageLevel, MessageSpec } from './messages.js';

/** One message on its way to whoever watches the run (terminal, JSON stream, test). */
export interface OutputMessage {
  readonly code: string;
  readonly level: MessageLevel;
  /** Milliseconds since the epoch, from the run's clock. */
  readonly time: number;
  readonly message: string;
  readonly step?: string;
  readonly account?: string;
  readonly data?: Readonly<Record<string, unknown>>;
}

/** Where the engine writes. Injected: the CLI renders, tests collect. */
export interface OutputSink {
  notify(msg: OutputMessage): void;
}

/** Emit a message built from its spec, so code and level always agree. */
export function emit(
  sink: OutputSink,
  spec: MessageSpec,
  time: number,
  message: string,
  extra: { step?: string; account?: string; data?: Record<string, unknown> } = {},
): void {
  sink.notify({ code: spec.code, level: spec.level, time, message, ...extra });
}

/** Collects every message in memory: tests assert on codes; `--output json` prints them. */
export class MemorySink implements OutputSink {
  readonly messages: OutputMessage[] = [];

  notify(msg: OutputMessage): void {
    this.messages.push(msg);
  }

  /** Messages with this spec's code. */
  withCode(spec: MessageSpec): OutputMessage[] {
    return this.messages.filter((m) => m.code === spec.code);
  }

  codes(): string[] {
    return this.messages.map((m) => m.code);
  }
}

/** Forward to several sinks (e.g. the terminal renderer and a collector). */
export function teeSink(...sinks: OutputSink[]): OutputSink {
  return { notify: (msg) => sinks.forEach((s) => s.notify(msg)) };
}
