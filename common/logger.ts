import { pino, type Logger, type DestinationStream, type Level } from 'pino';
import { BatchedLines } from './batched-lines.js';

export type { Logger } from 'pino';

export interface LoggerOptions {
  /** @default 'info' */
  readonly level?: Level | 'silent';
  /** Where JSON lines go. @default stdout */
  readonly destination?: DestinationStream;
  /** Fields on every line, e.g. `{ component: 'proxy' }`. */
  readonly base?: Record<string, unknown>;
  /**
   * Collect stdout lines up to this many bytes, written at least every `flushIntervalMs`,
   * instead of one write(2) per line: a busy proxy logs a line per connection. 0 = write
   * each line at once. Ignored with a custom destination. @default 0
   */
  readonly bufferBytes?: number;
  /** @default 1000 */
  readonly flushIntervalMs?: number;
  /**
   * Redact the usual credential-bearing keys, a second guard for code paths that handle
   * credentials (the provisioner). The proxy holds no secrets and logs metadata only, so it
   * turns this off: wildcard redaction costs time on every line. @default true
   */
  readonly redactSecrets?: boolean;
}

const SECRET_PATHS = [
  'privateKey',
  '*.privateKey',
  'secretAccessKey',
  '*.secretAccessKey',
  'sessionToken',
  '*.sessionToken',
  'token',
  '*.token',
];

/** A pino logger writing one JSON object per line. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const bufferBytes = options.bufferBytes ?? 0;
  let destination = options.destination;
  if (destination === undefined) {
    // Batched: flushed synchronously on exit; the interval bounds how long a line can wait
    // in the buffer on a quiet proxy.
    destination =
      bufferBytes > 0
        ? new BatchedLines({ batchBytes: bufferBytes, flushIntervalMs: options.flushIntervalMs ?? 1000 })
        : pino.destination({ fd: 1, sync: false });
  }
  return pino(
    {
      level: options.level ?? 'info',
      base: { pid: process.pid, ...options.base },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      ...(options.redactSecrets === false ? {} : { redact: { paths: SECRET_PATHS, censor: '[redacted]' } }),
    },
    destination,
  );
}
