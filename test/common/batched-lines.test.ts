import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BatchedLines } from '../../common/batched-lines.js';

const line = (i: number): string => `{"level":"info","n":${i},"msg":"line ${i} é"}\n`;

describe('BatchedLines', () => {
  const open: BatchedLines[] = [];
  const fds: number[] = [];
  afterEach(() => {
    for (const b of open.splice(0)) b.end();
    for (const fd of fds.splice(0)) closeSync(fd);
  });

  function file(): { fd: number; read(): string } {
    const path = join(mkdtempSync(join(tmpdir(), 'batched-')), 'log');
    const fd = openSync(path, 'w');
    fds.push(fd);
    return { fd, read: () => readFileSync(path, 'utf8') };
  }
  function lines(options: ConstructorParameters<typeof BatchedLines>[0]): BatchedLines {
    const b = new BatchedLines(options);
    open.push(b);
    return b;
  }
  const flushed = (b: BatchedLines): Promise<void> =>
    new Promise((resolve, reject) => b.flush((err) => (err ? reject(err) : resolve())));

  it('holds lines until a batch is full, then writes them in order in one go', async () => {
    const f = file();
    const b = lines({ fd: f.fd, batchBytes: 400, flushIntervalMs: 0 });
    for (let i = 0; i < 5; i++) b.write(line(i));
    await new Promise((r) => setTimeout(r, 20));
    expect(f.read()).toBe('');
    for (let i = 5; i < 40; i++) b.write(line(i));
    await flushed(b);
    expect(f.read()).toBe(Array.from({ length: 40 }, (_, i) => line(i)).join(''));
  });

  it('writes what waits on the interval, and synchronously on flushSync', async () => {
    const f = file();
    const b = lines({ fd: f.fd, batchBytes: 1 << 20, flushIntervalMs: 30 });
    b.write(line(1));
    await new Promise((r) => setTimeout(r, 120));
    expect(f.read()).toBe(line(1));
    b.write(line(2));
    b.flushSync();
    expect(f.read()).toBe(line(1) + line(2));
  });

  it('drops lines past its bound and says how many once it can write again', async () => {
    const f = file();
    const b = lines({ fd: f.fd, batchBytes: 1 << 20, flushIntervalMs: 0, maxPendingBytes: 100 });
    const accepted = [0, 1, 2, 3, 4].map((i) => b.write(line(i)));
    expect(accepted).toEqual([true, true, false, false, false]);
    await flushed(b);
    const out = f.read().split('\n').filter(Boolean);
    expect(out.slice(0, 2)).toEqual([line(0).trim(), line(1).trim()]);
    expect(JSON.parse(out[2]!)).toMatchObject({ level: 'warn', event: 'log_lines_dropped', count: 3 });
  });

  it('waits out a full pipe and loses nothing, in order', async () => {
    // cat copies our pipe to its stdout; while we do not read that, the pipe fills (EAGAIN).
    const cat = spawn('cat', [], { stdio: ['pipe', 'pipe', 'ignore'] });
    const fd = (cat.stdin as unknown as { _handle: { fd: number } })._handle.fd;
    const b = lines({ fd, batchBytes: 4096, flushIntervalMs: 0 });
    const expected: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      expected.push(line(i));
      b.write(line(i));
    }
    cat.stdout.pause();
    await new Promise((r) => setTimeout(r, 300));
    const chunks: Buffer[] = [];
    cat.stdout.on('data', (c: Buffer) => chunks.push(c));
    cat.stdout.resume();
    await flushed(b);
    b.end();
    cat.stdin.end();
    await new Promise((r) => cat.once('close', r));
    expect(Buffer.concat(chunks).toString('utf8')).toBe(expected.join(''));
  });

  it('reports a broken descriptor once instead of throwing, and keeps taking lines', async () => {
    const errors: string[] = [];
    // A descriptor number no process here has open.
    const b = lines({
      fd: 999_999,
      batchBytes: 10,
      flushIntervalMs: 0,
      onError: (e) => errors.push(e.code ?? ''),
    });
    b.write(line(1));
    await flushed(b).catch(() => undefined);
    expect(errors).toEqual(['EBADF']);
    expect(b.write(line(2))).toBe(true);
  });
});
