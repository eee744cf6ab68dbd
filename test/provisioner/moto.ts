/**
 * Start and stop a real moto server (`python3 -m moto.server`) on a free loopback port.
 * Reusable by any provisioner test: `const moto = await startMoto(); ... await moto.stop()`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

export interface MotoServer {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** Forget every resource in every account (POST /moto-api/reset). */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

/** Ask the OS for a free loopback port (bind 0, read it, close). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/moto-api/`, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

function stopProcess(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Start moto and wait until it answers (bounded: 20 s); retries once on a port race. */
export async function startMoto(options: { python?: string } = {}): Promise<MotoServer> {
  let lastError = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const child = spawn(
      options.python ?? 'python3',
      ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, MOTO_ALLOW_NONEXISTENT_REGION: 'false' },
      },
    );
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && child.exitCode === null) {
      if (await answers(url)) {
        return {
          url,
          port,
          async reset() {
            const res = await fetch(`${url}/moto-api/reset`, { method: 'POST' });
            await res.arrayBuffer();
          },
          stop: () => stopProcess(child),
        };
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    lastError = stderr;
    await stopProcess(child);
  }
  throw new Error(`moto server did not start: ${lastError}`);
}
