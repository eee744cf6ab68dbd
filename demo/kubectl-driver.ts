/**
 * Drives the real kubectl with a generated kubeconfig (tls-server-name + the run's CA +
 * a static token): each request is a fresh `kubectl get --raw`, the watch is
 * `kubectl get configmaps --watch-only`.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { parseServer } from '../provisioner/kubeconfig/input.js';
import { renderKubeconfig } from '../provisioner/kubeconfig/render.js';
import {
  ENI_PATH,
  eniResult,
  lineReader,
  MAX_BODY_BYTES,
  shortError,
  type ClientTarget,
  type DemoClient,
  type RequestResult,
  type WatchHandle,
  type WatchHandlers,
} from './client.js';

/** The kubectl on PATH (or undefined). */
export function findKubectl(pathEnv = process.env.PATH ?? ''): string | undefined {
  for (const dir of pathEnv.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, 'kubectl');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export class KubectlClient implements DemoClient {
  readonly kind = 'kubectl';
  readonly #kubectl: string;
  readonly #baseArgs: string[];
  readonly #children = new Set<ChildProcess>();

  private constructor(kubectl: string, kubeconfig: string, cacheDir: string) {
    this.#kubectl = kubectl;
    this.#baseArgs = ['--kubeconfig', kubeconfig, '--cache-dir', cacheDir];
  }

  /** Writes the kubeconfig into `dir` and returns a client using it. */
  static async create(kubectl: string, target: ClientTarget, dir: string): Promise<KubectlClient> {
    await mkdir(join(dir, 'kube-cache'), { recursive: true });
    const kubeconfig = join(dir, 'kubeconfig.yaml');
    // The same renderer `ekslink kubeconfig` uses, with its static-token variant.
    const server = parseServer(target.server);
    if (server === undefined) throw new Error(`demo client target ${target.server} is not a server address`);
    const text = renderKubeconfig({
      topology: 'gcp-to-aws',
      server,
      eksHostname: target.tlsServerName,
      caPem: target.caCertPem,
      auth: { kind: 'token', token: target.token },
      name: 'ekslink-demo',
    });
    await writeFile(kubeconfig, text, { mode: 0o600 });
    return new KubectlClient(kubectl, kubeconfig, join(dir, 'kube-cache'));
  }

  request(timeoutMs: number): Promise<RequestResult> {
    const started = performance.now();
    const timeoutSec = Math.max(1, Math.ceil(timeoutMs / 1000));
    return new Promise((resolve) => {
      const child = spawn(
        this.#kubectl,
        [...this.#baseArgs, 'get', '--raw', ENI_PATH, `--request-timeout=${timeoutSec}s`],
        // Own process group: a terminal Ctrl-C reaches the demo, which then stops its children itself.
        { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
      );
      this.#children.add(child);
      const stdout = collect(child.stdout);
      const stderr = collect(child.stderr);
      // kubectl's own --request-timeout should fire first; this is the backstop.
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs + 2000);
      const done = (error: string | undefined): void => {
        clearTimeout(timer);
        this.#children.delete(child);
        const latencyMs = performance.now() - started;
        resolve(error !== undefined ? { ok: false, error, latencyMs } : eniResult(stdout(), latencyMs));
      };
      child.on('error', (err) => done(`cannot run kubectl: ${err.message}`));
      child.on('close', (code, signal) => {
        if (code === 0) return done(undefined);
        done(
          shortError(stderr() || (signal ? `kubectl killed by ${signal}` : `kubectl exited with ${code}`)),
        );
      });
    });
  }

  watch(handlers: WatchHandlers): WatchHandle {
    const child = spawn(
      this.#kubectl,
      [
        ...this.#baseArgs,
        'get',
        'configmaps',
        '--watch-only',
        '-o',
        'jsonpath={.metadata.name} {.data.servedBy}{"\\n"}',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    this.#children.add(child);
    let stderr = '';
    const feed = lineReader((line) => {
      const [name = '', eni = ''] = line.trim().split(' ');
      if (name !== '') handlers.onEvent(name, eni);
      return true;
    });
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      if (!feed(d)) child.kill();
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      if (stderr.length < 4096) stderr += d;
    });
    let stopped = false;
    child.on('error', (err) => {
      if (!stopped) handlers.onEnd(err.message);
    });
    child.on('exit', (code) => {
      this.#children.delete(child);
      if (stopped) return;
      handlers.onEnd(code === 0 ? undefined : shortError(stderr || `kubectl exited with ${code}`));
    });
    return {
      stop: () => {
        stopped = true;
        child.kill();
      },
    };
  }

  async close(): Promise<void> {
    for (const c of this.#children) c.kill();
    this.#children.clear();
  }
}

/** Collects a stream's text, at most MAX_BODY_BYTES. */
function collect(stream: NodeJS.ReadableStream): () => string {
  let text = '';
  stream.setEncoding('utf8');
  stream.on('data', (d: string) => {
    if (text.length < MAX_BODY_BYTES) text += d;
  });
  return () => text;
}

/** `kubectl version --client` works: the binary runs on this machine. */
export function kubectlRuns(kubectl: string): Promise<boolean> {
  return new Promise((resolve) => {
    execFile(kubectl, ['version', '--client'], { timeout: 10_000 }, (err) => resolve(!err));
  });
}
