/**
 * The WireGuard peer's tunnel health: a watcher on the instance that marks it `Unhealthy`
 * in Auto Scaling (`set-instance-health`) when the tunnel cannot carry traffic, so the
 * group replaces it (an EC2 status check sees none of this: a dead wg-quick or a tunnel
 * without handshakes runs on a perfectly healthy instance).
 *
 * "Cannot carry traffic" means: the interface is gone, the ekslink nftables table is gone,
 * forwarding is off, or the newest handshake is older than `maxHandshakeAgeSec`. WireGuard
 * rekeys a session after 120 s on the next packet sent, and the GCP side sends a keepalive
 * every 25 s (the render default), so a working tunnel shows a handshake at most ~145 s old;
 * after 180 s (WireGuard's REJECT_AFTER_TIME) a session can no longer carry data at all,
 * which is why 180 s is the default and the floor.
 */

/** Default and smallest handshake age (s) that counts as a dead tunnel. */
export const DEFAULT_MAX_HANDSHAKE_AGE_SEC = 180;
/** Seconds between two checks. */
export const TUNNEL_CHECK_INTERVAL_SEC = 15;
/**
 * Failed checks in a row before the instance is marked: a `systemctl restart wg-quick@…`
 * (key rotation) removes the interface for a moment, which must not cost the instance.
 */
export const FAILED_CHECKS_TO_MARK = 2;
export const TUNNEL_HEALTH_UNIT = 'ekslink-tunnel-health.service';
export const TUNNEL_HEALTH_SCRIPT = '/usr/local/sbin/ekslink-tunnel-health';
/** The watcher's log, shipped to the stack's log group (the CloudWatch agent cannot read the journal). */
export const TUNNEL_HEALTH_LOG = '/var/log/ekslink-tunnel-health.log';
/** The nftables table `ekslink wireguard render` writes (aws/<iface>.nft). */
export const NFT_TABLE = 'inet ekslink';

export interface TunnelHealthOptions {
  readonly interfaceName: string;
  /** @default DEFAULT_MAX_HANDSHAKE_AGE_SEC */
  readonly maxHandshakeAgeSec?: number;
  /** @default TUNNEL_CHECK_INTERVAL_SEC */
  readonly intervalSec?: number;
}

/**
 * The watcher (bash, run by systemd as root). It marks the instance after
 * FAILED_CHECKS_TO_MARK failed checks in a row. An interface that has had no handshake yet
 * counts its age from when the watcher first saw it so, so a fresh instance (or a restarted
 * wg-quick) gets the full limit for the GCP side to reach it. `--should-respect-grace-period`: within the group's health check grace
 * period (the boot) Auto Scaling ignores the mark, so a booting peer is never replaced for
 * a handshake that cannot have happened yet.
 */
export function tunnelHealthScript(o: TunnelHealthOptions): string {
  return [
    '#!/bin/bash',
    'set -u',
    `IFACE='${o.interfaceName}'`,
    `MAX_AGE_SEC=${o.maxHandshakeAgeSec ?? DEFAULT_MAX_HANDSHAKE_AGE_SEC}`,
    `INTERVAL_SEC=${o.intervalSec ?? TUNNEL_CHECK_INTERVAL_SEC}`,
    'IMDS=http://169.254.169.254/latest',
    'token() { curl -fsS --max-time 2 -X PUT "$IMDS/api/token" -H \'X-aws-ec2-metadata-token-ttl-seconds: 300\'; }',
    'meta() { curl -fsS --max-time 2 -H "X-aws-ec2-metadata-token: $TOKEN" "$IMDS/meta-data/$1"; }',
    'say() { echo "ekslink-tunnel-health: $*"; }',
    `FAILS_TO_MARK=${FAILED_CHECKS_TO_MARK}`,
    // An interface without a handshake yet counts from when the watcher first saw it so: the
    // watcher's start on a fresh instance, or the interface's return after a restart.
    'zero_since=$(date +%s)',
    'fails=0',
    'while true; do',
    '  now=$(date +%s)',
    "  reason=''",
    '  if ! handshakes=$(wg show "$IFACE" latest-handshakes 2>&1); then',
    '    reason="interface $IFACE is down: $handshakes"',
    "    zero_since=''",
    `  elif ! nft list table ${NFT_TABLE} >/dev/null 2>&1; then`,
    `    reason="nftables table ${NFT_TABLE} is missing"`,
    '  elif [ "$(cat /proc/sys/net/ipv4/ip_forward)" != 1 ]; then',
    '    reason="net.ipv4.ip_forward is off"',
    '  else',
    "    latest=$(printf '%s\\n' \"$handshakes\" | awk 'BEGIN { m = 0 } $2 > m { m = $2 } END { print m }')",
    '    if [ "$latest" -eq 0 ]; then',
    '      if [ -z "$zero_since" ]; then zero_since=$now; fi',
    '      since=$zero_since',
    "    else zero_since=''; since=$latest; fi",
    '    age=$(( now - since ))',
    '    if [ "$age" -gt "$MAX_AGE_SEC" ]; then',
    '      if [ "$latest" -eq 0 ]; then reason="no WireGuard handshake in the ${age}s since the interface came up (limit ${MAX_AGE_SEC}s)";',
    '      else reason="last WireGuard handshake ${age}s ago (limit ${MAX_AGE_SEC}s)"; fi',
    '    fi',
    '  fi',
    '  if [ -z "$reason" ]; then fails=0; else fails=$(( fails + 1 )); fi',
    '  if [ "$fails" -gt 0 ] && [ "$fails" -lt "$FAILS_TO_MARK" ]; then say "check failed ($fails of $FAILS_TO_MARK in a row): $reason"; fi',
    '  if [ "$fails" -ge "$FAILS_TO_MARK" ]; then',
    '    if TOKEN=$(token) && ID=$(meta instance-id) && REGION=$(meta placement/region); then',
    '      if out=$(aws autoscaling set-instance-health --region "$REGION" --instance-id "$ID" --health-status Unhealthy --should-respect-grace-period 2>&1); then',
    '        say "unhealthy: $reason; marked Unhealthy, Auto Scaling replaces this instance"',
    '      else',
    '        say "unhealthy: $reason; set-instance-health failed: $out"',
    '      fi',
    '    else',
    '      say "unhealthy: $reason; instance metadata unavailable"',
    '    fi',
    '  fi',
    '  sleep "$INTERVAL_SEC"',
    'done',
  ].join('\n');
}

/** The systemd unit that runs the watcher once wg-quick has brought the interface up. */
export function tunnelHealthUnit(interfaceName: string): string {
  return [
    '[Unit]',
    'Description=ekslink: mark this WireGuard peer unhealthy when its tunnel cannot carry traffic',
    `After=wg-quick@${interfaceName}.service`,
    '',
    '[Service]',
    `ExecStart=${TUNNEL_HEALTH_SCRIPT}`,
    `StandardOutput=append:${TUNNEL_HEALTH_LOG}`,
    'StandardError=inherit',
    'Restart=always',
    'RestartSec=5',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
  ].join('\n');
}
