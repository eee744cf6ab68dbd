/**
 * The messages between the primary and its data-plane workers, and the primary's handle on
 * one worker: a request carries an id, the worker answers each id once.
 */
import type { Worker } from 'node:cluster';
import { describeError, EkslinkError, type ErrorSource } from '../../common/errors.js';
import type { ProxyConfig } from '../config/schema.js';

export type Op = 'start' | 'reload' | 'stopAccepting' | 'drain' | 'destroy' | 'active' | 'metrics';

export interface Request {
  readonly ekslink: 'req';
  readonly id: number;
  readonly op: Op;
  readonly config?: ProxyConfig;
  readonly deadlineMs?: number;
}

export interface Reply {
  readonly ekslink: 'rep';
  readonly id: number;
  readonly ok: boolean;
  readonly value?: unknown;
  readonly error?: string;
  /** The EKL_* code when the worker threw an EkslinkError, so the CLI reports it as such. */
  readonly code?: string;
  /** The EkslinkError's source and retryable, so they survive the trip. */
  readonly source?: ErrorSource;
  readonly retryable?: boolean;
  /** What the error's cause said, when it had one (an errno code, a message). */
  readonly cause?: { readonly code: string; readonly message: string };
}

export function isRequest(m: unknown): m is Request {
  return typeof m === 'object' && m !== null && (m as Request).ekslink === 'req';
}

function isReply(m: unknown): m is Reply {
  return typeof m === 'object' && m !== null && (m as Reply).ekslink === 'rep';
}

/**
 * The worker's answer to a request that failed: plain data (cluster IPC sends JSON), with
 * the error's code, source, retryable and what its cause said.
 */
export function errorReply(id: number, err: unknown): Reply {
  const cause = err instanceof Error && err.cause !== undefined ? describeError(err.cause) : undefined;
  return {
    ekslink: 'rep',
    id,
    ok: false,
    error: describeError(err).message,
    ...(err instanceof EkslinkError ? { code: err.code, source: err.source, retryable: err.retryable } : {}),
    ...(cause === undefined ? {} : { cause }),
  };
}

/** The error a failed reply stands for, on the primary's side: an EkslinkError when it was one. */
export function replyError(pid: number | undefined, m: Reply): Error {
  const message = `worker ${pid}: ${m.error ?? 'error'}`;
  const cause =
    m.cause === undefined ? undefined : Object.assign(new Error(m.cause.message), { code: m.cause.code });
  if (m.code === undefined) return new Error(message, cause === undefined ? undefined : { cause });
  return new EkslinkError(m.code, message, {
    ...(cause === undefined ? {} : { cause }),
    ...(m.source === undefined ? {} : { source: m.source }),
    ...(m.retryable === undefined ? {} : { retryable: m.retryable }),
  });
}

/** The primary's side of one worker: requests out, replies matched to them. */
export class WorkerHandle {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly exited: Promise<void>;

  constructor(readonly worker: Worker) {
    worker.on('message', (m: unknown) => {
      if (!isReply(m)) return;
      const p = this.pending.get(m.id);
      if (p === undefined) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.value);
      else p.reject(replyError(worker.process.pid, m));
    });
    this.exited = new Promise((resolve) =>
      worker.once('exit', () => {
        for (const p of this.pending.values()) p.reject(new Error(`worker ${worker.process.pid} exited`));
        this.pending.clear();
        resolve();
      }),
    );
  }

  call<T>(op: Op, extra: Partial<Request> = {}, timeoutMs?: number): Promise<T> {
    if (!this.worker.isConnected())
      return Promise.reject(new Error(`worker ${this.worker.process.pid} is gone`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer =
        timeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              this.pending.delete(id);
              reject(new Error(`worker ${this.worker.process.pid} did not answer ${op} in ${timeoutMs} ms`));
            }, timeoutMs);
      this.pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      const req: Request = { ekslink: 'req', id, op, ...extra };
      this.worker.send(req);
    });
  }
}
