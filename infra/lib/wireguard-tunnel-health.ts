/**
 * The WireGuard peer's tunnel health in CloudWatch: once a minute a systemd timer on the
 * peer publishes the age of the latest handshake (`wg show <iface> latest-handshakes`) as
 * `ekslink/wireguard TunnelHandshakeAgeSeconds{Peer}`, and an alarm fires when it stays
 * above the peer's `maxHandshakeAgeSec`: the same line at which the on-instance watcher
 * (wireguard-health.ts) calls the tunnel dead and has the instance replaced, so the alarm
 * says the tunnel is down (and self-healing has not brought it back yet). No data at all
 * means the peer or its timer is gone, which counts as down too.
 * (The instance role may write TUNNEL_METRICS_NAMESPACE: the peer passes it to createInstanceRole.)
 */
import { Duration, Stack } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import type { UserData } from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import { writeFile } from './user-data-common.js';

export const TUNNEL_METRICS_NAMESPACE = 'ekslink/wireguard';
export const HANDSHAKE_AGE_METRIC = 'TunnelHandshakeAgeSeconds';
/** Reported when the interface is gone or `wg show` fails: far above any threshold. */
export const INTERFACE_DOWN_AGE_SEC = 999_999;
const SCRIPT = '/usr/local/sbin/ekslink-wg-health';
const UNIT = 'ekslink-wg-health';

/**
 * `ekslink-wg-health IFACE PEER [--print]`: the age in seconds of the newest handshake of
 * any peer on IFACE (since boot when there was none yet), published, or printed with --print.
 */
export function tunnelHealthScript(): string {
  return `#!/bin/bash
set -euo pipefail
iface=$1 peer=$2 mode=\${3:-publish}
if latest=$(wg show "$iface" latest-handshakes 2>/dev/null | awk 'BEGIN { m = 0 } $2 > m { m = $2 } END { print m }'); then
  if [ "$latest" -gt 0 ]; then
    age=$(( $(date +%s) - latest ))
  else
    # No handshake yet: count from boot, so a fresh peer gets the threshold to connect.
    age=$(cut -d. -f1 /proc/uptime)
  fi
else
  age=${INTERFACE_DOWN_AGE_SEC}
fi
if [ "$mode" = --print ]; then echo "$age"; exit 0; fi
token=$(curl -fsS -X PUT http://169.254.169.254/latest/api/token -H 'X-aws-ec2-metadata-token-ttl-seconds: 60')
region=$(curl -fsS -H "X-aws-ec2-metadata-token: $token" http://169.254.169.254/latest/meta-data/placement/region)
aws cloudwatch put-metric-data --region "$region" --namespace ${TUNNEL_METRICS_NAMESPACE} \\
  --metric-name ${HANDSHAKE_AGE_METRIC} --dimensions "Peer=$peer" --unit Seconds --value "$age"
`;
}

/** Minutes in a row the age must stay above the limit before the alarm fires. */
export const TUNNEL_DOWN_MINUTES = 3;

export interface WireGuardTunnelHealthProps {
  readonly interfaceName: string;
  /** The peer's dead-tunnel limit (its maxHandshakeAgeSec, already checked): the alarm threshold. */
  readonly maxHandshakeAgeSec: number;
  /** The peer's user data: the script and its timer are appended. */
  readonly userData: UserData;
}

export class WireGuardTunnelHealth extends Construct {
  public readonly alarm: Alarm;
  /** The Peer dimension: the stack name. */
  public readonly peerName: string;

  constructor(scope: Construct, id: string, props: WireGuardTunnelHealthProps) {
    super(scope, id);
    this.peerName = Stack.of(this).stackName;
    props.userData.addCommands(
      ...writeFile(SCRIPT, tunnelHealthScript(), '0755'),
      ...writeFile(
        `/etc/systemd/system/${UNIT}.service`,
        [
          '[Unit]',
          'Description=ekslink: publish the WireGuard handshake age to CloudWatch',
          '',
          '[Service]',
          'Type=oneshot',
          `ExecStart=${SCRIPT} ${props.interfaceName} ${this.peerName}`,
        ].join('\n'),
        '0644',
      ),
      ...writeFile(
        `/etc/systemd/system/${UNIT}.timer`,
        [
          '[Unit]',
          'Description=ekslink: WireGuard handshake age every minute',
          '',
          '[Timer]',
          'OnBootSec=60',
          'OnUnitActiveSec=60',
          'AccuracySec=5',
          '',
          '[Install]',
          'WantedBy=timers.target',
        ].join('\n'),
        '0644',
      ),
      'systemctl daemon-reload',
      `systemctl enable --now ${UNIT}.timer`,
    );
    this.alarm = new Alarm(this, 'Alarm', {
      alarmName: `${this.peerName}-TunnelDown`,
      alarmDescription: `ekslink WireGuard peer ${this.peerName}: no handshake for more than ${props.maxHandshakeAgeSec} s (maxHandshakeAgeSec) for ${TUNNEL_DOWN_MINUTES} minutes, or no health data (peer down). Runbook: docs/operations.md, Alarms, TunnelDown.`,
      metric: new Metric({
        namespace: TUNNEL_METRICS_NAMESPACE,
        metricName: HANDSHAKE_AGE_METRIC,
        dimensionsMap: { Peer: this.peerName },
        statistic: 'Maximum',
        period: Duration.minutes(1),
      }),
      threshold: props.maxHandshakeAgeSec,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: TUNNEL_DOWN_MINUTES,
      datapointsToAlarm: TUNNEL_DOWN_MINUTES,
      treatMissingData: TreatMissingData.BREACHING,
    });
  }
}
