/**
 * The load generator, run as its own process so it does not share an event loop with the
 * peer under test. Bounded in count and time; prints one JSON result on stdout.
 *
 *   tsx bench/load-client.ts '<json LoadSpec>'
 */
import net from 'node:net';

export interface LoadSpec {
  readonly host: string;
  readonly port: number;
  /** A real ClientHello record (base64) carrying the SNI of the route under test. */
  readonly helloBase64: string;
  readonly mode: 'rate' | 'bulk';
  readonly concurrency: number;
  /** rate: stop after this many connections. */
  readonly maxConnections: number;
  /** Stop starting new work after this long. */
  readonly durationMs: number;
  /** bulk: bytes each connection sends after the hello. */
  readonly bulkBytes: number;
}

export interface LoadResult {
  readonly completed: number;
  readonly failed: number;
  readonly elapsedMs: number;
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
  readonly bytes: number;
}

function oneExchange(
  spec: LoadSpec,
  hello: Buffer,
  chunk: Buffer,
): Promise<{ ok: boolean; ms: number; bytes: number }> {
  const started = performance.now();
  return new Promise((resolve) => {
    let got = 0;
    let reply = '';
    let settled = false;
    const finish = (ok: boolean, bytes: number) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve({ ok, ms: performance.now() - started, bytes });
    };
    const socket = net.connect({ host: spec.host, port: spec.port, noDelay: true });
    socket.setTimeout(10_000, () => finish(false, 0));
    socket.on('error', () => finish(false, 0));
    socket.on('connect', () => {
      socket.write(hello);
      if (spec.mode === 'rate') return;
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
    });
    socket.on('data', (d: Buffer) => {
      got += d.length;
      if (spec.mode === 'bulk') reply += d.toString('latin1');
    });
    socket.on('end', () => {
      if (spec.mode === 'rate') finish(got === 1024, got);
      else finish(Number(reply.trim()) === spec.bulkBytes, spec.bulkBytes);
    });
  });
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const hello = Buffer.from(spec.helloBase64, 'base64');
  const chunk = Buffer.alloc(64 * 1024, 0x5a);
  const latencies: number[] = [];
  let started = 0;
  let failed = 0;
  let bytes = 0;
  const t0 = performance.now();
  const deadline = t0 + spec.durationMs;
  const lane = async () => {
    while (started < spec.maxConnections && performance.now() < deadline) {
      started += 1;
      const r = await oneExchange(spec, hello, chunk);
      if (r.ok) {
        latencies.push(r.ms);
        bytes += r.bytes;
      } else failed += 1;
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, lane));
  const elapsedMs = performance.now() - t0;
  latencies.sort((a, b) => a - b);
  return {
    completed: latencies.length,
    failed,
    elapsedMs,
    latencyP50Ms: percentile(latencies, 50),
    latencyP99Ms: percentile(latencies, 99),
    bytes,
  };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop() as string)) {
  const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
  const result = await runLoad(spec);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
