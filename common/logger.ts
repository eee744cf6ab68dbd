import { pino, type Logger, type DestinationStream, type Level } from 'pino';

export type { Logger } from 'pino';

export interface LoggerOptions {
  /** @default 'info' */
  readonly level?: Level | 'silent';
  /** Where JSON lines go. @default stdout */
  readonly destination?: DestinationStream;
  /** Fields on every line, e.g. `{ component: 'proxy' }`. */
  readonly base?: Record<string, unknown>;
}

/**
 * A pino logger writing one JSON object per line. Secrets never reach it: callers log
 * metadata only, and the common credential-bearing keys are redacted as a second guard.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { pid: process.pid, ...options.base },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: {
        paths: [
          'privateKey',
          '*.privateKey',
          'secretAccessKey',
          '*.secretAccessKey',
          'sessionToken',
          '*.sessionToken',
          'token',
          '*.token',
        ],
        censor: '[redacted]',
      },
    },
    options.destination ?? pino.destination({ fd: 1, sync: false }),
  );
}
