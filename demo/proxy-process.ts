/**
 * Starts the real ekslink proxy as a child process, through the same config schema and CLI
 * path as production (`ekslink proxy --config FILE`), and learns its ports from its
 * `{"event":"listening",...}` startup line.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { EkslinkError } from '../common/errors.js';
import { PROXY_NODE_FLAGS } from '../common/node-flags.js';
import { parseProxyConfig, type ProxyConfigInput } from '../proxy/config/schema.js';

export interface DemoProxyConfigOptions {
  readonly hostname: string;
  readonly upstreamPort: number;
  readonly dnsServer: string;
  readonly allowedCidr: string;
}

/** The proxy config the demo runs with: loopback only, ports picked by the OS, one worker. */
export function demoProxyConfig(o: DemoProxyConfigOptions): ProxyConfigInput {
  return {
    listen: { host: '127.0.0.1', port: 0 },
    routes: [{ sni: o.hostname, upstreamPort: o.upstreamPort, name: 'demo-cluster' }],
    allowedUpstreamCidrs: [o.allowedCidr],
    dns: { servers: [o.dnsServer], timeoutMs: 500, tries: 2, staleMaxAgeMs: 30_000 },
    upstream: { connectTimeoutMs: 1000, failureMemoryMs: 5000 },
    health: { host: '127.0.0.1', port: 0, probeIntervalMs: 1000 },
    drain: { graceSec: 0, deadlineSec: 2 },
    workers: 1,
    log: { level: 'info' },
  };
}

export interface ListeningLine {
  readonly address: string;
  readonly port: number;
  readonly healthPort: number;
}

const OUTPUT_TAIL_LINES = 20;

export class ProxyProcess {
  readonly configPath: string;
  readonly listening: ListeningLine;
  readonly #child: ChildProcess;
  readonly #tail: string[];
  readonly #exited: Promise<number | null>;
  #stopping = false;
  #onUnexpectedExit?: (err: EkslinkError) => void;

  private constructor(
    configPath: string,
    listening: ListeningLine,
    child: ChildProcess,
    tail: string[],
    exited: Promise<number | null>,
  ) {
    this.configPath = configPath;
    this.listening = listening;
    this.#child = child;
    this.#tail = tail;
    this.#exited = exited;
    void exited.then((code) => {
      if (!this.#stopping) this.#onUnexpectedExit?.(this.#exitError(code));
    });
  }

  /**
   * Validates the config with the production schema, writes it as YAML into `dir`, spawns
   * `node <cli> proxy --config FILE` and waits for its listening line.
   */
  static async start(o: {
    config: ProxyConfigInput;
    dir: string;
    cliPath: string;
    timeoutMs?: number;
  }): Promise<ProxyProcess> {
    parseProxyConfig(o.config, 'demo proxy config');
    const configPath = join(o.dir, 'proxy.yaml');
    await writeFile(configPath, stringify(o.config));
    const child = spawn(process.execPath, [...PROXY_NODE_FLAGS, o.cliPath, 'proxy', '--config', configPath], {
      stdio: ['ignore', 'pipe', 'pipe'],
      // Own process group: a terminal Ctrl-C must not stop the proxy before the demo has
      // stopped its clients; the demo sends SIGTERM itself (and SIGKILL from its exit hook).
      detached: true,
    });
    const tail: string[] = [];
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const listening = await new Promise<ListeningLine>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(startError(`no listening line within ${o.timeoutMs ?? 15_000} ms`, tail));
      }, o.timeoutMs ?? 15_000);
      onLines(child, tail, (line) => {
        const parsed = parseListening(line);
        if (parsed) {
          clearTimeout(timer);
          resolve(parsed);
        }
      });
      void exited.then((code) => {
        clearTimeout(timer);
        reject(startError(`the proxy exited with code ${code} before listening`, tail));
      });
      child.on('error', (err) => {
        clearTimeout(timer);
        reject(startError(err.message, tail));
      });
    });
    return new ProxyProcess(configPath, listening, child, tail, exited);
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  /** Called if the proxy exits before stop(). */
  onUnexpectedExit(handler: (err: EkslinkError) => void): void {
    this.#onUnexpectedExit = handler;
  }

  /** The proxy's last lines of output, for error reports. */
  get outputTail(): readonly string[] {
    return this.#tail;
  }

  /** SIGTERM (the proxy drains), then SIGKILL if it is still there after `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    this.#stopping = true;
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    this.#child.kill('SIGTERM');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), graceMs);
    await this.#exited;
    clearTimeout(timer);
  }

  /** Last resort from a process 'exit' hook: synchronous. */
  killNow(): void {
    this.#stopping = true;
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL');
  }

  #exitError(code: number | null): EkslinkError {
    return new EkslinkError(
      'EKL_DEMO_PROXY_EXITED',
      `the ekslink proxy exited during the run (code ${code}); its last output:\n${this.#tail.join('\n')}`,
    );
  }
}

/** The contract's startup line: `{"event":"listening","address":...,"port":N,"healthPort":M}`. */
export function parseListening(line: string): ListeningLine | undefined {
  if (!line.includes('"listening"')) return undefined;
  try {
    const o = JSON.parse(line) as Record<string, unknown>;
    if (o.event !== 'listening' || typeof o.port !== 'number' || typeof o.healthPort !== 'number')
      return undefined;
    return {
      address: typeof o.address === 'string' ? o.address : '127.0.0.1',
      port: o.port,
      healthPort: o.healthPort,
    };
  } catch {
    return undefined;
  }
}

function onLines(child: ChildProcess, tail: string[], onLine: (line: string) => void): void {
  for (const stream of [child.stdout, child.stderr]) {
    let buf = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (d: string) => {
      buf += d;
      // One pass over the chunk, one slice of the remainder at the end: a busy proxy writes
      // a line per connection, and re-slicing per line would copy the chunk once per line.
      let start = 0;
      let nl: number;
      while ((nl = buf.indexOf('\n', start)) >= 0) {
        const line = buf.slice(start, nl);
        start = nl + 1;
        tail.push(line);
        if (tail.length > OUTPUT_TAIL_LINES) tail.shift();
        onLine(line);
      }
      buf = buf.slice(start);
      // A line longer than any log line is not one we need; keep memory bounded.
      if (buf.length > 64 * 1024) buf = '';
    });
  }
}

function startError(why: string, tail: readonly string[]): EkslinkError {
  return new EkslinkError(
    'EKL_DEMO_PROXY_START',
    `the ekslink proxy did not start: ${why}${tail.length ? `; its last output:\n${tail.join('\n')}` : ''}`,
  );
}
