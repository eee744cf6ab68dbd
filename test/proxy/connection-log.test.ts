import { afterEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../common/logger.js';
import { ConnectionLog } from '../../proxy/connection/connection-log.js';

/** A destination that keeps what is written, as strings, the way pino hands them over. */
function memory(): { lines: string[]; write(s: string): void } {
  const lines: string[] = [];
  return { lines, write: (s: string) => void lines.push(s) };
}

const record = {
  event: 'connection',
  id: 'abc-1',
  clientAddress: '10.0.0.1',
  clientPort: 4242,
  vpcEndpointId: undefined,
  sni: 'x.gr7.eu-west-1.eks.amazonaws.com',
  route: 'r "quoted" \\ and \u2028',
  upstreamAddress: '10.1.0.5:443',
  bytesFromClient: 517,
  bytesFromUpstream: 0,
  durationMs: 1.5,
  reason: 'upstream_error',
  upstreamFailures: [{ address: '10.1.0.4:443', result: 'refused', errno: 'ECONNREFUSED' }],
  error: { code: 'EKL_UPSTREAM_CONNECT_FAILED', message: 'every address failed', source: 'upstream' },
};

const withoutTime = (line: string): string => line.replace(/"time":"[^"]+"/, '"time":"T"');

describe('ConnectionLog', () => {
  it('writes the bytes pino writes for the same record, bindings and message', () => {
    for (const level of ['info', 'warn'] as const) {
      const ours = memory();
      const theirs = memory();
      const base = { component: 'proxy', worker: 2 };
      new ConnectionLog(createLogger({ destination: ours, base, redactSecrets: false })).write(
        level,
        record,
        'connection closed',
      );
      createLogger({ destination: theirs, base, redactSecrets: false })[level](record, 'connection closed');
      expect(ours.lines).toHaveLength(1);
      expect(withoutTime(ours.lines[0]!)).toBe(withoutTime(theirs.lines[0]!));
      const parsed = JSON.parse(ours.lines[0]!) as Record<string, unknown>;
      expect(parsed).toMatchObject({ level, component: 'proxy', worker: 2, route: record.route });
      expect(Date.parse(parsed.time as string)).not.toBeNaN();
      expect('vpcEndpointId' in parsed).toBe(false);
    }
  });

  it("keeps a child logger's bindings and honours the level", () => {
    const out = memory();
    const logger = createLogger({ destination: out, level: 'warn', redactSecrets: false }).child({
      part: 'x',
    });
    const log = new ConnectionLog(logger);
    log.write('info', record, 'connection closed');
    expect(out.lines).toEqual([]);
    log.write('warn', { id: 'b' }, 'connection closed');
    expect(JSON.parse(out.lines[0]!)).toMatchObject({
      level: 'warn',
      part: 'x',
      id: 'b',
      msg: 'connection closed',
    });
  });

  afterEach(() => vi.useRealTimers());

  it("stamps pino's ISO time to the millisecond, across seconds and zero-padded milliseconds", () => {
    const out = memory();
    const log = new ConnectionLog(createLogger({ destination: out, redactSecrets: false }));
    vi.useFakeTimers({ toFake: ['Date'] });
    const times = [
      Date.UTC(2026, 11, 1, 23, 59, 59, 7),
      Date.UTC(2026, 11, 1, 23, 59, 59, 45),
      Date.UTC(2026, 11, 1, 23, 59, 59, 999),
      Date.UTC(2026, 11, 2, 0, 0, 0, 0),
      Date.UTC(2026, 11, 2, 0, 0, 1, 120),
    ];
    for (const t of times) {
      vi.setSystemTime(t);
      log.write('info', { id: 'x' }, 'connection closed');
    }
    expect(out.lines.map((l) => (JSON.parse(l) as { time: string }).time)).toEqual(
      times.map((t) => new Date(t).toISOString()),
    );
  });
});
