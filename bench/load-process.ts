/** Runs bench/load-client.ts in its own node process (plain node, type stripping: no loader). */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LoadResult, LoadSpec } from './load-client.js';

const LOAD_CLIENT = fileURLToPath(new URL('./load-client.ts', import.meta.url));
/** On top of the spec's own duration: process start, the last exchanges' timeouts. */
const EXIT_SLACK_MS = 20_000;

function spawnClient(spec: LoadSpec): ChildProcess {
  return spawn(
    process.execPath,
    ['--disable-warning=ExperimentalWarning', LOAD_CLIENT, JSON.stringify(spec)],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
}

function lines(child: ChildProcess, onLine: (line: string) => void): void {
  let buf = '';
  child.stdout?.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      onLine(buf.slice(0, nl));
      buf = buf.slice(nl + 1);
    }
  });
}

/** One bounded load phase (rate, bulk or pingpong): its result line. */
export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = spawnClient(spec);
    let result: LoadResult | undefined;
    const timer = setTimeout(() => child.kill('SIGKILL'), spec.durationMs + EXIT_SLACK_MS);
    lines(child, (line) => (result = JSON.parse(line) as LoadResult));
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0 && result) resolve(result);
      else reject(new Error(`load client (${spec.mode}) exited with ${signal ?? `code ${code}`}`));
    });
  });
}

/** Idle connections held open by a load client until `release()`. */
export interface HeldConnections {
  readonly opened: LoadResult;
  release(): Promise<void>;
}

export function holdConnections(spec: LoadSpec): Promise<HeldConnections> {
  return new Promise((resolve, reject) => {
    const child = spawnClient({ ...spec, mode: 'hold' });
    const timer = setTimeout(() => child.kill('SIGKILL'), spec.durationMs + EXIT_SLACK_MS);
    const exited = new Promise<void>((done) => child.on('exit', () => done()));
    let opened = false;
    lines(child, (line) => {
      if (opened) return;
      opened = true;
      resolve({
        opened: JSON.parse(line) as LoadResult,
        release: async () => {
          child.stdin?.end('close\n');
          await exited;
          clearTimeout(timer);
        },
      });
    });
    void exited.then(() => {
      clearTimeout(timer);
      if (!opened) reject(new Error(`load client (hold) exited with code ${child.exitCode} before opening`));
    });
  });
}
