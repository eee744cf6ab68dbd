/**
 * The connection's one log line, written straight to the logger's destination: the same
 * bytes pino would write (its level label, time, bindings, then the record, then msg), made
 * with one JSON.stringify of a fixed-shape record instead of pino's per-key serializer,
 * which was a tenth of a connection's CPU. Honors the logger's level. The record carries
 * metadata only (addresses, names, counts, codes), never payload, so it needs no redaction.
 */
import { pino, type Logger } from 'pino';

type Level = 'info' | 'warn';

interface Destination {
  write(line: string): unknown;
}

export class ConnectionLog {
  private readonly destination: Destination;
  private readonly bindings: string;
  /** The second `secondPrefix` is for: pino's isoTime up to and including the '.'. */
  private second = -1;
  private secondPrefix = '';

  constructor(private readonly logger: Logger) {
    this.destination = (logger as unknown as Record<symbol, Destination>)[pino.symbols.streamSym]!;
    this.bindings = (logger as unknown as Record<symbol, string>)[pino.symbols.chindingsSym] ?? '';
  }

  /** One line, `{"level":…,"time":…,<bindings>,<record>,"msg":…}`; nothing when the level is off. */
  write(level: Level, record: object, msg: string): void {
    if (!this.logger.isLevelEnabled(level)) return;
    const body = JSON.stringify(record);
    this.destination.write(
      `{"level":"${level}","time":"${this.time()}"${this.bindings}${body.length > 2 ? `,${body.slice(1, -1)}` : ''},"msg":${JSON.stringify(msg)}}\n`,
    );
  }

  /** pino's isoTime (`new Date().toISOString()`): the date and time formatted once a second, the milliseconds appended. */
  private time(): string {
    const now = Date.now();
    const second = Math.floor(now / 1000);
    if (second !== this.second) {
      this.second = second;
      this.secondPrefix = new Date(second * 1000).toISOString().slice(0, -4);
    }
    const ms = now - second * 1000;
    return `${this.secondPrefix}${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z`;
  }
}
