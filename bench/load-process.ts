/**
 * Drives bench/load-client.ts: one node process (plain node, type stripping: no loader)
 * kept for the whole run, one JSON line per phase each way. A phase that overruns its
 * bound kills the client; the next phase starts a new one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LoadResult, LoadSpec } from './load-client.js';

const LOAD_CLIENT = fileURLToPath(new URL('./load-client.ts', import.meta.url));
/** On top of a phase's own duration: the last exchanges' socket timeouts, a busy machine. */
const PHASE_SLACK_MS = 30_000;

/** Idle connections held open by the load client until `release()`. */
export interface HeldConnections {
  readonly opened: LoadResult;
  release(): Promise<void>;
}

export class LoadClient {
  #child: ChildProcess | undefined;
  #buffer = '';
  /** Lines that came with no one waiting (a hold that ran out and closed on its own). */
  #unread: string[] = [];
  #waiter: ((line: string | undefined) => void) | undefined;

  #process(): ChildProcess {
    if (this.#child && this.#child.exitCode === null && this.#child.signalCode === null) return this.#child;
    const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', LOAD_CLIENT], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    this.#buffer = '';
    this.#unread = [];
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (d: string) => {
      this.#buffer += d;
      let nl: number;
      while ((nl = this.#buffer.indexOf('\n')) >= 0) {
        const line = this.#buffer.slice(0, nl);
        this.#buffer = this.#buffer.slice(nl + 1);
        const w = this.#waiter;
        this.#waiter = undefined;
        if (w) w(line);
        else this.#unread.push(line);
      }
    });
    child.on('exit', () => {
      if (this.#child === child) this.#child = undefined;
      const w = this.#waiter;
      this.#waiter = undefined;
      w?.(undefined);
    });
    this.#child = child;
    return child;
  }

  /** Sends a line and takes the next answer line (perhaps one already there), within `timeoutMs`. */
  #ask(line: string, timeoutMs: number, what: string): Promise<string> {
    const child = this.#process();
    child.stdin?.write(`${line}\n`);
    const early = this.#unread.shift();
    if (early !== undefined) return Promise.resolve(early);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
      }, timeoutMs);
      this.#waiter = (answer) => {
        clearTimeout(timer);
        if (answer === undefined)
          reject(new Error(`load client (${what}) exited with ${child.signalCode ?? child.exitCode}`));
        else resolve(answer);
      };
    });
  }

  /** One bounded load phase (rate, bulk or pingpong). */
  async run(spec: LoadSpec): Promise<LoadResult> {
    return JSON.parse(
      await this.#ask(JSON.stringify(spec), spec.durationMs + PHASE_SLACK_MS, spec.mode),
    ) as LoadResult;
  }

  /** Opens idle connections and keeps them until release(). */
  async hold(spec: LoadSpec): Promise<HeldConnections> {
    const holdSpec = { ...spec, mode: 'hold' as const };
    const opened = JSON.parse(
      await this.#ask(JSON.stringify(holdSpec), spec.durationMs + PHASE_SLACK_MS, 'hold'),
    ) as LoadResult;
    return {
      opened,
      release: async () => {
        await this.#ask('release', PHASE_SLACK_MS, 'release');
      },
    };
  }

  /** Ends the client (stdin closed: it exits on its own). */
  async close(): Promise<void> {
    const child = this.#child;
    if (!child) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.stdin?.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}
