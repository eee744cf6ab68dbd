/** bench/profile-ablation.ts: what `npm run bench:profile` accepts in EKL_CONFIG. */
import { describe, expect, it } from 'vitest';
import { parseAblation } from '../../bench/profile-ablation.js';

describe('EKL_CONFIG of bench:profile', () => {
  it('is no keys when unset or blank, and the object when it is one', () => {
    expect(parseAblation(undefined)).toEqual({});
    expect(parseAblation('  ')).toEqual({});
    expect(parseAblation('{"dns":{"shareWindowMs":0},"log":{"level":"debug"}}')).toEqual({
      dns: { shareWindowMs: 0 },
      log: { level: 'debug' },
    });
  });

  it('refuses what is not a JSON object, naming the value and the shape wanted', () => {
    for (const text of ['nope', '[1]', 'null', '3']) {
      expect(() => parseAblation(text)).toThrow(
        `EKL_CONFIG must be a JSON object of top-level config keys, e.g. {"dns":{"shareWindowMs":0}} (got ${JSON.stringify(text)})`,
      );
    }
  });

  it('refuses a log level that hides the listening line the port is read from', () => {
    expect(() => parseAblation('{"log":{"level":"warn"}}')).toThrow(
      /EKL_CONFIG sets log\.level warn: bench:profile reads the proxy's port from its info line/,
    );
    expect(() => parseAblation('{"log":{"level":"silent"}}')).toThrow(/log\.level silent/);
  });
});
