/**
 * The termination lifecycle hook of the proxy fleet, and the on-instance watcher that
 * drains the proxy and then completes it.
 *
 * How the instance learns it is terminating: it polls IMDS `autoscaling/target-lifecycle-state`
 * (AWS documents exactly this use: "Retrieve the target lifecycle state through instance
 * metadata"). It turns `Terminated` as soon as Auto Scaling starts the termination, before the
 * target group's deregistration delay, so the drain runs alongside the NLB's own draining.
 * The alternative, EventBridge -> SSM Run Command (or SNS -> Lambda), needs more resources
 * and permissions and only fires at `Terminating:Wait`, after the deregistration delay.
 *
 * Order on scale-in: Auto Scaling deregisters the instance from the target group and waits out
 * the deregistration delay; only then is the hook active (`Terminating:Wait`). The watcher
 * stops the proxy (SIGTERM: fail /readyz, grace, deadline), and once the proxy has exited it
 * calls `complete-lifecycle-action`, retrying while the hook is not active yet. So the
 * instance goes as soon as both the NLB and the proxy are done, and the heartbeat is only
 * the fallback for a watcher that cannot reach the API.
 */
import { Duration } from 'aws-cdk-lib';
import { type AutoScalingGroup, DefaultResult, LifecycleTransition } from 'aws-cdk-lib/aws-autoscaling';
import type { Role } from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import { lifecycleHeartbeatSec, stopTimeoutSec } from '../../common/drain-timing.js';
import { grantOwnAutoScalingGroup } from './instance-role.js';

/** Name of the termination hook (unique per group, so a fixed name is enough). */
export const DRAIN_HOOK_NAME = 'ekslink-drain';
/** Extra seconds the lifecycle hook and systemd allow beyond grace + deadline (common/drain-timing.ts). */
export { DRAIN_MARGIN_SEC } from '../../common/drain-timing.js';
/** Seconds between the watcher's IMDS polls, and between its tries to complete the hook. */
export const LIFECYCLE_POLL_SEC = 5;

/** How long systemd waits for the proxy to stop, and how long the hook holds the instance at most. */
export interface DrainHookTiming {
  readonly stopTimeoutSec: number;
  readonly heartbeatSec: number;
}

/**
 * The hook's and systemd's timing from the proxy's drain. The one place it is derived:
 * a drain that starts only when the hook fires still fits (grace + deadline + margin).
 */
export function drainHookTiming(drain: { graceSec: number; deadlineSec: number }): DrainHookTiming {
  return { stopTimeoutSec: stopTimeoutSec(drain), heartbeatSec: lifecycleHeartbeatSec(drain) };
}

/**
 * Longest time from Auto Scaling's decision to terminate to the hook being completed, when
 * the watcher works: the later of the deregistration delay (the hook is not active before)
 * and the drain (first poll + grace + deadline), plus one retry interval.
 */
export function terminationTimeSec(o: {
  deregistrationDelaySec: number;
  graceSec: number;
  deadlineSec: number;
  pollSec?: number;
}): number {
  const poll = o.pollSec ?? LIFECYCLE_POLL_SEC;
  return Math.max(o.deregistrationDelaySec, poll + o.graceSec + o.deadlineSec) + poll;
}

export interface LifecycleWatchOptions {
  /** The proxy's systemd unit. */
  readonly unitName: string;
  /** @default DRAIN_HOOK_NAME */
  readonly hookName?: string;
  /** @default LIFECYCLE_POLL_SEC */
  readonly pollSec?: number;
}

/**
 * The watcher (bash, run by systemd as root): poll the target lifecycle state; on
 * `Terminated` stop the proxy (systemctl returns once it has exited, TimeoutStopSec covers
 * the drain), then complete the hook with the instance role's credentials. The group name
 * comes from the instance's `aws:autoscaling:groupName` tag in IMDS (the launch template
 * cannot name the group that uses it). Retries until accepted: the instance is terminated
 * at the heartbeat anyway, so the loop ends with it.
 */
export function lifecycleWatchScript(o: LifecycleWatchOptions): string {
  const poll = o.pollSec ?? LIFECYCLE_POLL_SEC;
  return [
    '#!/bin/bash',
    'set -u',
    `HOOK='${o.hookName ?? DRAIN_HOOK_NAME}'`,
    `UNIT='${o.unitName}'`,
    `POLL_SEC=${poll}`,
    'IMDS=http://169.254.169.254/latest',
    'token() { curl -fsS --max-time 2 -X PUT "$IMDS/api/token" -H \'X-aws-ec2-metadata-token-ttl-seconds: 300\'; }',
    'meta() { curl -fsS --max-time 2 -H "X-aws-ec2-metadata-token: $TOKEN" "$IMDS/meta-data/$1"; }',
    'say() { echo "ekslink-lifecycle-watch: $*"; }',
    'until TOKEN=$(token) && [ "$(meta autoscaling/target-lifecycle-state)" = Terminated ]; do sleep "$POLL_SEC"; done',
    'started=$(date +%s)',
    'say "target lifecycle state Terminated: stopping $UNIT (drain)"',
    'systemctl stop "$UNIT"',
    'say "$UNIT stopped after $(( $(date +%s) - started ))s; completing lifecycle hook $HOOK"',
    'tries=0',
    'while true; do',
    '  if TOKEN=$(token) && ID=$(meta instance-id) && REGION=$(meta placement/region) && GROUP=$(meta tags/instance/aws:autoscaling:groupName); then',
    '    if out=$(aws autoscaling complete-lifecycle-action --region "$REGION" --auto-scaling-group-name "$GROUP" --lifecycle-hook-name "$HOOK" --instance-id "$ID" --lifecycle-action-result CONTINUE 2>&1); then',
    '      say "lifecycle hook $HOOK completed $(( $(date +%s) - started ))s after the termination was seen"',
    '      exit 0',
    '    fi',
    '  else',
    '    out="instance metadata unavailable"',
    '  fi',
    // Until the deregistration delay is over the hook is not active ("No active Lifecycle Action found").
    '  if [ $(( tries % 12 )) -eq 0 ]; then say "hook not completed yet, retrying every ${POLL_SEC}s: $out"; fi',
    '  tries=$(( tries + 1 ))',
    '  sleep "$POLL_SEC"',
    'done',
  ].join('\n');
}

/**
 * The termination hook (CONTINUE at the heartbeat) and the role's permission to complete it
 * on this group only.
 */
export function addDrainHook(scope: Construct, group: AutoScalingGroup, role: Role, timing: DrainHookTiming) {
  const hook = group.addLifecycleHook('DrainOnTerminate', {
    lifecycleHookName: DRAIN_HOOK_NAME,
    lifecycleTransition: LifecycleTransition.INSTANCE_TERMINATING,
    heartbeatTimeout: Duration.seconds(timing.heartbeatSec),
    defaultResult: DefaultResult.CONTINUE,
  });
  grantOwnAutoScalingGroup(scope, 'LifecycleHookPolicy', role, group, [
    'autoscaling:CompleteLifecycleAction',
  ]);
  return hook;
}
