import { describe, expect, it } from 'vitest';
import {
  DEFAULT_DRAIN,
  DRAIN_MARGIN_SEC,
  HEALTH_CHECK,
  MAX_DEREGISTRATION_DELAY_SEC,
  deregistrationDelayForDrain,
  drainTimingProblems,
  healthCheckDetectionSec,
  lifecycleHeartbeatSec,
  stopTimeoutSec,
  targetGroupTimingForDrain,
} from '../../common/drain-timing.js';

describe('drain timing', () => {
  it('the defaults fit every invariant', () => {
    // GIVEN the default drain and the target group sized for it
    const tg = targetGroupTimingForDrain();
    // THEN no problem, the delay covers the drain, and detection is inside the grace
    expect(drainTimingProblems(DEFAULT_DRAIN, tg)).toEqual([]);
    expect(tg.deregistrationDelaySec).toBe(15 + 300 + DRAIN_MARGIN_SEC);
    expect(tg.deregistrationDelaySec).toBeLessThanOrEqual(MAX_DEREGISTRATION_DELAY_SEC);
    expect(tg.connectionTermination).toBe(false);
    expect(healthCheckDetectionSec(tg)).toBeLessThan(DEFAULT_DRAIN.graceSec);
    expect(HEALTH_CHECK.timeoutSec).toBeLessThan(HEALTH_CHECK.intervalSec);
  });

  it('sizes the hook heartbeat and the stop timeout for a whole drain', () => {
    const drain = { graceSec: 20, deadlineSec: 100 };
    expect(lifecycleHeartbeatSec(drain)).toBe(120 + DRAIN_MARGIN_SEC);
    expect(stopTimeoutSec(drain)).toBe(120 + DRAIN_MARGIN_SEC);
    expect(deregistrationDelayForDrain(drain)).toBe(120 + DRAIN_MARGIN_SEC);
  });

  it('a deregistration delay shorter than the drain names both values and the fix', () => {
    const problems = drainTimingProblems(DEFAULT_DRAIN, {
      ...targetGroupTimingForDrain(),
      deregistrationDelaySec: 300,
    });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ setting: 'drainDeadlineSec', fits: 255 });
    expect(problems[0]!.message).toContain('deregistration delay (300s)');
    expect(problems[0]!.message).toContain('drainDeadlineSec (300)');
    expect(problems[0]!.message).toContain('set provider.nlb.deregistrationDelaySec to 345');
    expect(problems[0]!.message).toContain('lower drainDeadlineSec to 255');
  });

  it('refuses connection termination, and a grace the health check cannot beat', () => {
    const tg = { ...targetGroupTimingForDrain(), connectionTermination: true, healthCheckIntervalSec: 10 };
    const problems = drainTimingProblems(DEFAULT_DRAIN, tg);
    expect(problems.map((p) => p.setting)).toEqual(['connectionTermination', 'drainGraceSec']);
    expect(problems[1]!.message).toContain('drainGraceSec (15)');
    expect(problems[1]!.message).toContain('interval 10s x unhealthy threshold 2 = 20s');
    expect(problems[1]!.message).toContain('set drainGraceSec to 25');
  });
});
