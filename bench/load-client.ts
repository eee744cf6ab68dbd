/**
 * The load generator, run as its own process so it does not share an event loop (or a
 * CPU reading) with the peer under test, and kept for the whole run (a node start per
 * phase would cost more than some phases). Self-contained so plain node runs it. It reads
 * one JSON LoadSpec per stdin line, runs it, and answers with one JSON line on stdout.
 * Every mode is bounded in count and time.
 *
 *   node bench/load-client.ts      # then: {"mode":"rate",...}\n
 *
 * - rate: `concurrency` lanes open connections one after the other (command R) until
 *   `maxConnections` or `durationMs`; with concurrency 1 it measures new-connection latency.
 * - bulk: each connection sends `bulkBytes` (command B), half-closes, checks the count.
 * - download: each connection asks for `bulkBytes` (command D) and counts what arrives.
 * - pingpong: one connection (command E), `roundTrips` sequential 64-byte echoes.
 * - hold: opens `maxConnections` idle connections (command H, each answered), answers,
 *   keeps them until the next stdin line or `durationMs`, closes them, answers again.
 *
 * Over 300 lines: self-contained on purpose (plain node runs it, no imports of the project),
 * so each load mode and its bounds live in this one file.
 */
import net from 'node:net';
import tls from 'node:tls';

export interface LoadSpec {
  readonly host: string;
  readonly port: number;
  readonly mode: 'rate' | 'bulk' | 'download' | 'pingpong' | 'hold';
  /** Real TLS to the upstream (with this CA and SNI), or a replayed ClientHello and no crypto. */
  readonly tls: { readonly servername: string; readonly caPem: string } | undefined;
  /** plain: a real ClientHello record (base64) carrying the SNI of the route under test. */
  readonly helloBase64: string;
  readonly concurrency: number;
  readonly maxConnections: number;
  /** Stop starting new work after this long (hold: keep connections at most this long). */
  readonly durationMs: number;
  readonly bulkBytes: number;
  readonly roundTrips: number;
}

export interface LoadResult {
  readonly completed: number;
  readonly failed: number;
  readonly elapsedMs: number;
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
  /** Payload bytes through the proxy, both directions. */
  readonly bytes: number;
  /** The first failure, for the report. */
  readonly firstError?: string;
}

const REPLY_BYTES = 1024;
const SOCKET_TIMEOUT_MS = 10_000;

interface Exchange {
  readonly socket: net.Socket;
  /** Resolves when the handshake (TLS) or the TCP connect (plain) is done and the command sent. */
  readonly ready: Promise<void>;
}

/** Opens a connection through the peer and sends `command` right after the handshake. */
function open(spec: LoadSpec, hello: Buffer, command: string): Exchange {
  const socket = spec.tls
    ? tls.connect({
        host: spec.host,
        port: spec.port,
        servername: spec.tls.servername,
        ca: spec.tls.caPem,
      })
    : net.connect({ host: spec.host, port: spec.port });
  socket.setNoDelay(true);
  const ready = new Promise<void>((resolve, reject) => {
    socket.once(spec.tls ? 'secureConnect' : 'connect', () => {
      // Plain: hello and command in one write, as a client's first flight is one segment's worth.
      socket.write(spec.tls ? command : Buffer.concat([hello, Buffer.from(command, 'latin1')]));
      resolve();
    });
    socket.once('error', reject);
  });
  ready.catch(() => {});
  return { socket, ready };
}

function exchange(
  spec: LoadSpec,
  hello: Buffer,
  chunk: Buffer,
): Promise<{ ok: boolean; ms: number; bytes: number; error?: string }> {
  const started = performance.now();
  const command = spec.mode === 'bulk' ? 'B' : spec.mode === 'download' ? 'D' : 'R';
  const { socket, ready } = open(spec, hello, command);
  return new Promise((resolve) => {
    let got = 0;
    let reply = '';
    let settled = false;
    const finish = (ok: boolean, bytes: number, error?: string) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve({ ok, ms: performance.now() - started, bytes, error });
    };
    socket.setTimeout(SOCKET_TIMEOUT_MS, () => finish(false, 0, 'timeout'));
    socket.on('error', (err: Error) => finish(false, 0, err.message));
    ready.then(
      () => {
        if (command === 'D') socket.write(`${spec.bulkBytes}\n`);
        if (command !== 'B') return;
        let left = spec.bulkBytes;
        const pump = () => {
          while (left > 0) {
            const n = Math.min(left, chunk.length);
            left -= n;
            if (!socket.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
              socket.once('drain', pump);
              return;
            }
          }
          socket.end();
        };
        pump();
      },
      (err: Error) => finish(false, 0, err.message),
    );
    socket.on('data', (d: Buffer) => {
      got += d.length;
      if (command === 'B') reply += d.toString('latin1');
    });
    socket.on('end', () => {
      if (command === 'R')
        finish(got === REPLY_BYTES, got, got === REPLY_BYTES ? undefined : `reply ${got} B`);
      else if (command === 'D')
        finish(got === spec.bulkBytes, got, got === spec.bulkBytes ? undefined : `download ${got} B`);
      else {
        const ok = Number(reply.trim()) === spec.bulkBytes;
        finish(ok, spec.bulkBytes + reply.length, ok ? undefined : `bulk count ${reply.trim()}`);
      }
    });
  });
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

function summary(latencies: number[], failed: number, elapsedMs: number, bytes: number, firstError?: string) {
  latencies.sort((a, b) => a - b);
  const result: LoadResult = {
    completed: latencies.length,
    failed,
    elapsedMs,
    latencyP50Ms: percentile(latencies, 50),
    latencyP99Ms: percentile(latencies, 99),
    bytes,
  };
  return firstError === undefined ? result : { ...result, firstError };
}

async function runExchanges(spec: LoadSpec, hello: Buffer): Promise<LoadResult> {
  const chunk = Buffer.alloc(64 * 1024, 0x5a);
  const latencies: number[] = [];
  let started = 0;
  let failed = 0;
  let bytes = 0;
  let firstError: string | undefined;
  const t0 = performance.now();
  const deadline = t0 + spec.durationMs;
  const lane = async () => {
    while (started < spec.maxConnections && performance.now() < deadline) {
      started += 1;
      const r = await exchange(spec, hello, chunk);
      if (r.ok) {
        latencies.push(r.ms);
        bytes += r.bytes;
      } else {
        failed += 1;
        firstError ??= r.error;
      }
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, lane));
  return summary(latencies, failed, performance.now() - t0, bytes, firstError);
}

/** Sequential small echoes on one open connection: the cost of one hop on a kept-alive connection. */
async function runPingPong(spec: LoadSpec, hello: Buffer): Promise<LoadResult> {
  const t0 = performance.now();
  const { socket, ready } = open(spec, hello, 'E');
  const ping = Buffer.alloc(64, 0x70);
  const latencies: number[] = [];
  try {
    socket.setTimeout(SOCKET_TIMEOUT_MS, () => socket.destroy(new Error('timeout')));
    await ready;
    const deadline = t0 + spec.durationMs;
    let waiting: ((n: number) => void) | undefined;
    socket.on('data', (d: Buffer) => waiting?.(d.length));
    const closed = new Promise<never>((_, reject) => socket.once('close', () => reject(new Error('closed'))));
    closed.catch(() => {});
    for (let i = 0; i < spec.roundTrips && performance.now() < deadline; i++) {
      const sent = performance.now();
      let got = 0;
      const echoed = new Promise<void>((resolve) => {
        waiting = (n) => {
          got += n;
          if (got >= ping.length) resolve();
        };
      });
      socket.write(ping);
      await Promise.race([echoed, closed]);
      latencies.push(performance.now() - sent);
    }
    return summary(latencies, 0, performance.now() - t0, latencies.length * ping.length * 2);
  } catch (err) {
    return summary(latencies, 1, performance.now() - t0, 0, (err as Error).message);
  } finally {
    socket.destroy();
  }
}

/** Opens idle connections, each answered once, and keeps them until told (or the deadline). */
async function runHold(spec: LoadSpec, hello: Buffer): Promise<void> {
  const t0 = performance.now();
  const held: net.Socket[] = [];
  let failed = 0;
  let firstError: string | undefined;
  const openOne = () =>
    new Promise<void>((resolve) => {
      const { socket, ready } = open(spec, hello, 'H');
      let got = 0;
      const fail = (why: string) => {
        failed += 1;
        firstError ??= why;
        socket.destroy();
        resolve();
      };
      const timer = setTimeout(() => fail('timeout'), SOCKET_TIMEOUT_MS);
      ready.catch((err: Error) => {
        clearTimeout(timer);
        fail(err.message);
      });
      socket.on('error', () => {});
      socket.on('data', (d: Buffer) => {
        got += d.length;
        if (got === REPLY_BYTES) {
          clearTimeout(timer);
          held.push(socket);
          resolve();
        }
      });
    });
  let started = 0;
  const lane = async () => {
    while (started < spec.maxConnections && performance.now() < t0 + spec.durationMs) {
      started += 1;
      await openOne();
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, lane));
  const opened = summary(
    held.map(() => 0),
    failed,
    performance.now() - t0,
    held.length * REPLY_BYTES,
    firstError,
  );
  process.stdout.write(`${JSON.stringify(opened)}\n`);
  // Held until released, and at most durationMs more (opening had its own durationMs).
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([nextLine(), new Promise((r) => (timer = setTimeout(r, spec.durationMs)))]);
  clearTimeout(timer);
  for (const s of held) s.destroy();
  process.stdout.write(`${JSON.stringify({ closed: held.length })}\n`);
}

// --- stdin: one spec per line ------------------------------------------------------------

const pendingLines: string[] = [];
let lineWaiter: ((line: string | undefined) => void) | undefined;
let stdinEnded = false;
let stdinBuffer = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (d: string) => {
  stdinBuffer += d;
  let nl: number;
  while ((nl = stdinBuffer.indexOf('\n')) >= 0) {
    const line = stdinBuffer.slice(0, nl);
    stdinBuffer = stdinBuffer.slice(nl + 1);
    if (lineWaiter) {
      const w = lineWaiter;
      lineWaiter = undefined;
      w(line);
    } else pendingLines.push(line);
  }
});
process.stdin.on('end', () => {
  stdinEnded = true;
  lineWaiter?.(undefined);
});

/** The next stdin line, or undefined once stdin has ended (the parent is gone: exit). */
function nextLine(): Promise<string | undefined> {
  const line = pendingLines.shift();
  if (line !== undefined) return Promise.resolve(line);
  if (stdinEnded) return Promise.resolve(undefined);
  return new Promise((resolve) => (lineWaiter = resolve));
}

for (let line = await nextLine(); line !== undefined; line = await nextLine()) {
  // A release that came after a hold ran out on its own: nothing left to release.
  if (!line.startsWith('{')) continue;
  const spec = JSON.parse(line) as LoadSpec;
  const hello = Buffer.from(spec.helloBase64, 'base64');
  if (spec.mode === 'hold') await runHold(spec, hello);
  else {
    const result =
      spec.mode === 'pingpong' ? await runPingPong(spec, hello) : await runExchanges(spec, hello);
    process.stdout.write(`${JSON.stringify(result)}\n`);
  }
}
process.exit(0);
