/**
 * Drain and health timing, defined once: the provisioner sizes the target group from it,
 * the fleet sizes the proxy's drain, systemd's stop timeout and the termination hook from
 * it, and synth refuses a pairing that breaks an invariant below.
 *
 * The order this is built for (Amazon EC2 Auto Scaling, group attached to a target group):
 * on scale-in the instance is first deregistered from the target group (the NLB sends it
 * no new flows and keeps existing ones for the deregistration delay), and only after that
 * delay does the termination lifecycle hook put it in `Terminating:Wait`. The instance
 * learns of the termination from IMDS (`autoscaling/target-lifecycle-state` turns
 * `Terminated` when the termination starts) and drains the proxy then. So:
 * - the deregistration delay covers the whole proxy drain plus a margin: the proxy, not
 *   the NLB, ends the last connections, and the hook then fires on an instance that has
 *   already drained (the hook completes at once);
 * - connection termination stays off: if the drain only starts at the hook (the watcher
 *   missed the early state), connections still open past the delay are not reset by the
 *   NLB but closed by the proxy's deadline, inside the hook's heartbeat;
 * - the health check notices a draining instance (`/readyz` failing) within the grace,
 *   for stops that do not go through Auto Scaling (`systemctl stop`, a replaced unhealthy
 *   instance), so the listener closes only after the NLB stopped sending new flows.
 */

/** The proxy's drain phases (`drain.graceSec`, `drain.deadlineSec` in the proxy config). */
export interface DrainPhases {
  readonly graceSec: number;
  readonly deadlineSec: number;
}

/** What the target group does around a drain (ELBv2 attribute and health-check values). */
export interface TargetGroupTiming {
  readonly deregistrationDelaySec: number;
  readonly connectionTermination: boolean;
  readonly healthCheckIntervalSec: number;
  readonly unhealthyThresholdCount: number;
}

/** Default drain: 15 s for the NLB to notice, then up to 300 s for open connections (kube watches). */
export const DEFAULT_DRAIN: DrainPhases = { graceSec: 15, deadlineSec: 300 };

/**
 * Seconds allowed beyond grace + deadline: the on-instance watcher's IMDS poll (5 s), the
 * time Auto Scaling takes to publish the target state, the proxy's exit and the NLB's flow
 * table catching up.
 */
export const DRAIN_MARGIN_SEC = 30;

/** Longest deregistration delay ELBv2 accepts. */
export const MAX_DEREGISTRATION_DELAY_SEC = 3600;

/** Longest heartbeat an Auto Scaling lifecycle hook accepts. */
export const MAX_LIFECYCLE_HEARTBEAT_SEC = 7200;

/**
 * The target group's health check: 5 s x 2 failures = 10 s to notice `/readyz` failing,
 * inside the default 15 s grace; 2 passes (10 s) to take a new instance in. The timeout is
 * below the interval, as ELBv2 requires.
 */
export const HEALTH_CHECK = {
  intervalSec: 5,
  timeoutSec: 4,
  healthyThresholdCount: 2,
  unhealthyThresholdCount: 2,
} as const;

/** Off: the proxy's deadline, not an NLB reset, ends the connections that outlive the drain. */
export const DEFAULT_CONNECTION_TERMINATION = false;

/** Seconds from SIGTERM until the proxy has exited, at most. */
export function drainTotalSec(drain: DrainPhases): number {
  return drain.graceSec + drain.deadlineSec + DRAIN_MARGIN_SEC;
}

/** The deregistration delay that covers the drain: grace + deadline + margin. */
export function deregistrationDelayForDrain(drain: DrainPhases): number {
  return drainTotalSec(drain);
}

/**
 * The termination lifecycle hook's heartbeat timeout: long enough for a whole drain that
 * only starts when the hook fires (grace + deadline + margin). The instance completes the
 * hook as soon as the proxy has exited, so this is an upper bound, not the usual wait.
 */
export function lifecycleHeartbeatSec(drain: DrainPhases): number {
  return drainTotalSec(drain);
}

/** systemd's TimeoutStopSec for the proxy unit: SIGKILL only after a whole drain. */
export function stopTimeoutSec(drain: DrainPhases): number {
  return drainTotalSec(drain);
}

/** Seconds the health check needs to mark a draining target unhealthy. */
export function healthCheckDetectionSec(
  tg: Pick<TargetGroupTiming, 'healthCheckIntervalSec' | 'unhealthyThresholdCount'>,
): number {
  return tg.healthCheckIntervalSec * tg.unhealthyThresholdCount;
}

/** The target group's timing when the provisioner sizes it for `drain`. */
export function targetGroupTimingForDrain(drain: DrainPhases = DEFAULT_DRAIN): TargetGroupTiming {
  return {
    deregistrationDelaySec: deregistrationDelayForDrain(drain),
    connectionTermination: DEFAULT_CONNECTION_TERMINATION,
    healthCheckIntervalSec: HEALTH_CHECK.intervalSec,
    unhealthyThresholdCount: HEALTH_CHECK.unhealthyThresholdCount,
  };
}

/** One broken invariant: which setting, its value, the one it conflicts with, and the fix. */
export interface TimingProblem {
  /** The fleet-side setting to change (or the target group's, for connectionTermination). */
  readonly setting: 'drainDeadlineSec' | 'drainGraceSec' | 'connectionTermination';
  readonly message: string;
  /** A value of `setting` that fits. */
  readonly fits: number | boolean;
}

/**
 * Every invariant between the proxy's drain and the target group it sits behind that
 * `drain` and `tg` break (empty when they fit). Each message names both values and a fix.
 */
export function drainTimingProblems(drain: DrainPhases, tg: TargetGroupTiming): TimingProblem[] {
  const problems: TimingProblem[] = [];
  const need = deregistrationDelayForDrain(drain);
  if (tg.deregistrationDelaySec < need) {
    problems.push({
      setting: 'drainDeadlineSec',
      fits: Math.max(0, tg.deregistrationDelaySec - drain.graceSec - DRAIN_MARGIN_SEC),
      message:
        `the target group's deregistration delay (${tg.deregistrationDelaySec}s) is shorter than the proxy's drain: ` +
        `drainGraceSec (${drain.graceSec}) + drainDeadlineSec (${drain.deadlineSec}) + ${DRAIN_MARGIN_SEC}s margin = ${need}s, ` +
        `so the NLB would give up on connections the proxy still serves; set provider.nlb.deregistrationDelaySec to ${need} ` +
        `and run \`ekslink provision apply\` again, or lower drainDeadlineSec to ${Math.max(0, tg.deregistrationDelaySec - drain.graceSec - DRAIN_MARGIN_SEC)}`,
    });
  }
  if (tg.connectionTermination) {
    problems.push({
      setting: 'connectionTermination',
      fits: false,
      message:
        `the target group resets connections when the deregistration delay (${tg.deregistrationDelaySec}s) ends ` +
        `(connection termination on), before the proxy's drainDeadlineSec (${drain.deadlineSec}) can close them if the drain ` +
        'starts at the termination hook; set provider.nlb.connectionTermination to false and run `ekslink provision apply` again',
    });
  }
  const detect = healthCheckDetectionSec(tg);
  if (detect >= drain.graceSec) {
    problems.push({
      setting: 'drainGraceSec',
      fits: detect + 5,
      message:
        `drainGraceSec (${drain.graceSec}) must be longer than the health check's detection time: ` +
        `interval ${tg.healthCheckIntervalSec}s x unhealthy threshold ${tg.unhealthyThresholdCount} = ${detect}s, ` +
        `or the NLB still sends new connections after the listener closed; set drainGraceSec to ${detect + 5}`,
    });
  }
  return problems;
}
