/**
 * A log destination that collects lines and writes them to a file descriptor in batches:
 * one write(2) per `batchBytes` (or per `flushIntervalMs` on a quiet process) instead of one
 * per line. What pino's own buffered destination (sonic-boom with minLength) does, minus its
 * per-line costs: it measures the UTF-8 length of the whole pending buffer on every line and
 * appends into one growing string; here a line is pushed to an array and the batch joined
 * once. Lines keep their order (every line of the logger goes through here). Bounded: past
 * `maxPendingBytes` waiting (the reader of stdout stopped), new lines are dropped and
 * counted, and a line saying how many is written once the reader catches up. Flushed
 * synchronously on exit, as pino flushes its own.
 */
import { write as fsWrite, writeSync } from 'node:fs';

export interface BatchedLinesOptions {
  /** @default 1 (stdout) */
  readonly fd?: number;
  /** Write once this many characters wait. */
  readonly batchBytes: number;
  /** Write whatever waits at least this often (0 = only by size and on flush). @default 1000 */
  readonly flushIntervalMs?: number;
  /** Lines waiting beyond this are dropped (counted). @default 16 MiB */
  readonly maxPendingBytes?: number;
  /** A write failed for another reason than a full pipe or a closed reader. @default a line on stderr, once */
  readonly onError?: (err: NodeJS.ErrnoException) => void;
}

/** How long to wait before writing again into a full non-blocking pipe (sonic-boom waits the same). */
const BUSY_RETRY_MS = 100;
/** What flushSync sleeps on between tries at a full pipe (Atomics.wait needs a shared array). */
const SLEEP_ON = new Int32Array(new SharedArrayBuffer(4));

export class BatchedLines {
  private readonly fd: number;
  private readonly batchBytes: number;
  private readonly maxPendingBytes: number;
  private readonly onError: (err: NodeJS.ErrnoException) => void;
  private pending: string[] = [];
  private pendingLength = 0;
  /** The bytes of the write in progress (or waiting to be retried), from `offset` on. */
  private writing: Buffer | undefined;
  private offset = 0;
  /** A write(2) of `writing` is with the kernel (not waiting for a retry). */
  private inFlight = false;
  private dropped = 0;
  private closed = false;
  private reportedError = false;
  private readonly waiters: ((err?: Error) => void)[] = [];
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly onExit = (): void => this.flushSync();

  constructor(options: BatchedLinesOptions) {
    this.fd = options.fd ?? 1;
    this.batchBytes = options.batchBytes;
    this.maxPendingBytes = options.maxPendingBytes ?? 16 * 1024 * 1024;
    this.onError = options.onError ?? ((err) => this.reportOnce(err));
    const every = options.flushIntervalMs ?? 1000;
    if (every > 0) this.timer = setInterval(() => this.flush(), every).unref();
    process.on('exit', this.onExit);
  }

  /** One line (with its newline), as pino hands it over. */
  write(line: string): boolean {
    if (this.closed) return false;
    if (this.pendingLength + line.length > this.maxPendingBytes) {
      this.dropped++;
      return false;
    }
    this.pending.push(line);
    this.pendingLength += line.length;
    if (this.writing === undefined && this.pendingLength >= this.batchBytes) this.startWrite();
    return true;
  }

  /** Write what waits now; `callback` runs once it (and any write in progress) is out. */
  flush(callback?: (err?: Error) => void): void {
    if (callback !== undefined) this.waiters.push(callback);
    if (this.writing === undefined) {
      if (this.hasWaiting) this.startWrite();
      else this.settle();
    }
  }

  /** Write everything now, blocking (on exit, and before a fatal exit). */
  flushSync(): void {
    if (this.closed) return;
    // A write already with the kernel completes on its own (sonic-boom leaves it too);
    // one waiting to be retried is taken over.
    let buf = this.takePending();
    if (this.writing !== undefined && !this.inFlight) {
      buf = Buffer.concat([this.writing.subarray(this.offset), buf]);
      this.writing = undefined;
    }
    for (let tries = 0; buf.length > 0 && tries < 1000;) {
      try {
        buf = buf.subarray(writeSync(this.fd, buf));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // A full non-blocking pipe: wait for the reader, a bounded number of times.
        if (code === 'EAGAIN') {
          tries++;
          Atomics.wait(SLEEP_ON, 0, 0, 10);
          continue;
        }
        this.fail(err as NodeJS.ErrnoException);
        return;
      }
    }
  }

  /** Stop: flush what waits, stop the timer, take no more lines. */
  end(): void {
    this.flushSync();
    this.closed = true;
    clearInterval(this.timer);
    process.off('exit', this.onExit);
  }

  /** Lines, or a count of dropped ones, that no write has taken yet. */
  private get hasWaiting(): boolean {
    return this.pendingLength > 0 || this.dropped > 0;
  }

  private takePending(): Buffer {
    let text = this.pending.join('');
    this.pending = [];
    this.pendingLength = 0;
    if (this.dropped > 0) {
      text += `{"level":"warn","time":"${new Date().toISOString()}","event":"log_lines_dropped","count":${this.dropped},"msg":"log lines dropped: stdout did not keep up"}\n`;
      this.dropped = 0;
    }
    return Buffer.from(text);
  }

  private startWrite(): void {
    this.writing = this.takePending();
    this.offset = 0;
    this.writeOn();
  }

  private writeOn(): void {
    const buf = this.writing;
    if (buf === undefined) return;
    this.inFlight = true;
    fsWrite(this.fd, buf, this.offset, buf.length - this.offset, null, (err, n) => {
      this.inFlight = false;
      if (this.writing !== buf) return; // flushSync took it over while it waited for a retry
      if (err !== null) {
        if (err.code === 'EAGAIN') {
          setTimeout(() => this.writeOn(), BUSY_RETRY_MS).unref();
          return;
        }
        this.fail(err);
        this.settle(err);
        return;
      }
      this.offset += n;
      if (this.offset < buf.length) {
        this.writeOn();
        return;
      }
      this.writing = undefined;
      if (this.pendingLength >= this.batchBytes || (this.waiters.length > 0 && this.hasWaiting)) {
        this.startWrite();
        return;
      }
      this.settle();
    });
  }

  private settle(err?: Error): void {
    for (const done of this.waiters.splice(0)) done(err);
  }

  /** The reader is gone (EPIPE) or the descriptor broke: log no more, say so once. */
  private fail(err: NodeJS.ErrnoException): void {
    this.writing = undefined;
    this.pending = [];
    this.pendingLength = 0;
    if (err.code === 'EPIPE') {
      // Nobody reads stdout any more; pino's own destination stops logging the same way.
      this.closed = true;
      return;
    }
    this.onError(err);
  }

  private reportOnce(err: NodeJS.ErrnoException): void {
    if (this.reportedError) return;
    this.reportedError = true;
    try {
      writeSync(
        2,
        `ekslink: writing the log to fd ${this.fd} failed (${err.code ?? err.message}); lines were lost\n`,
      );
    } catch {
      // stderr is gone too: nothing left to tell.
    }
  }
}
