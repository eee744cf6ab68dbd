/**
 * The fleet's pairing with the target group the provisioner created: PROXY protocol v2 on
 * both sides or on neither, the health port the health check probes, and the drain timing
 * invariants of common/drain-timing.ts. A pairing that would fail at runtime (every
 * connection refused, or the NLB cutting connections the proxy still drains) fails synth,
 * with a message naming both values and the fix.
 */
import {
  DEFAULT_CONNECTION_TERMINATION,
  DEFAULT_DRAIN,
  HEALTH_CHECK,
  deregistrationDelayForDrain,
  drainTimingProblems,
  type DrainPhases,
} from '../../common/drain-timing.js';
import type { TargetGroupSettings } from '../../common/provision-outputs.js';
import type { PropChecker } from './validate.js';

export type { TargetGroupSettings } from '../../common/provision-outputs.js';

/** What `ekslink provision apply` sets with its defaults (PROXY v2 on, drain-sized delay). */
export function provisionerDefaultTargetGroup(healthPort: number): TargetGroupSettings {
  return {
    proxyProtocolV2: true,
    deregistrationDelaySec: deregistrationDelayForDrain(DEFAULT_DRAIN),
    connectionTermination: DEFAULT_CONNECTION_TERMINATION,
    healthCheckPort: healthPort,
    healthCheckIntervalSec: HEALTH_CHECK.intervalSec,
    unhealthyThresholdCount: HEALTH_CHECK.unhealthyThresholdCount,
  };
}

export interface Pairing {
  readonly proxyProtocolMode: 'off' | 'required';
  readonly targetGroup: TargetGroupSettings;
}

/**
 * Resolve the proxy's PROXY protocol mode from the target group and check the pairing.
 * `mode` is the prop as given (undefined: follow the target group).
 */
export function checkPairing(
  c: PropChecker,
  given: TargetGroupSettings | undefined,
  mode: 'off' | 'required' | undefined,
  healthPort: number,
  drain: DrainPhases,
): Pairing {
  const tg = given ?? provisionerDefaultTargetGroup(healthPort);
  const want = tg.proxyProtocolV2 ? 'required' : 'off';
  if (mode !== undefined && mode !== want) {
    c.fail(
      'proxyProtocolMode',
      mode,
      tg.proxyProtocolV2
        ? `must be "required": the target group sends PROXY protocol v2 (targetGroupSettings.proxyProtocolV2 true), so a proxy in mode "off" would read the header as a broken ClientHello and refuse every connection; remove proxyProtocolMode (it follows the target group) or set provider.nlb.proxyProtocolV2: false and run \`ekslink provision apply\``
        : `must be "off": the target group does not send PROXY protocol v2 (targetGroupSettings.proxyProtocolV2 false), so a proxy in mode "required" would refuse every connection for want of the header; remove proxyProtocolMode, or set provider.nlb.proxyProtocolV2: true and run \`ekslink provision apply\``,
      `"${want}"`,
    );
  }
  if (tg.healthCheckPort !== healthPort) {
    c.fail(
      'healthPort',
      healthPort,
      `must be the port the target group's health check probes (targetGroupSettings.healthCheckPort ${tg.healthCheckPort}), or every instance stays unhealthy; set healthPort to ${tg.healthCheckPort}, or provider.nlb.proxyHealthPort to ${healthPort} and run \`ekslink provision apply\``,
      String(tg.healthCheckPort),
    );
  }
  const [first, ...rest] = drainTimingProblems(drain, tg);
  if (first !== undefined) {
    const prop =
      first.setting === 'connectionTermination' ? 'targetGroupSettings.connectionTermination' : first.setting;
    const value =
      first.setting === 'connectionTermination'
        ? tg.connectionTermination
        : first.setting === 'drainGraceSec'
          ? drain.graceSec
          : drain.deadlineSec;
    c.fail(
      prop,
      value,
      `does not fit the target group: ${[first, ...rest].map((p) => p.message).join('; and ')}`,
      String(first.fits),
    );
  }
  return { proxyProtocolMode: want, targetGroup: tg };
}
