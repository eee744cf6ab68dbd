/**
 * User data of a proxy instance. The image (baked by the pipeline, or baked at boot from the
 * instance kit on a stock AL2023 image: infra/lib/fleet-image.ts) already holds Node 24, the
 * bundle, the hardened unit, sysctls and the CloudWatch agent; user data writes what is
 * particular to this fleet (the proxy config, the drain timeout drop-in, the lifecycle
 * watcher, the agent and scrape configs), starts everything through the kit's script, and
 * waits for readiness, whose exit code becomes the CloudFormation signal.
 */
import type { ProxyUnit } from './artifacts.js';
import { bakeAtBootCommands, startCommands } from './fleet-image.js';
import { CW_AGENT_CONFIG_PATH, PROMETHEUS_CONFIG_PATH } from './fleet-metrics.js';
import { lifecycleWatchScript } from './lifecycle.js';
import { PROXY_CONFIG_PATH } from './proxy-config.js';
import { finished, imdsIdentity, preamble, waitForHttp, writeFile } from './user-data-common.js';

export const PROXY_UNIT_NAME = 'ekslink-proxy.service';
export const PROXY_LOG = '/var/log/ekslink/proxy.log';
export const LIFECYCLE_WATCH_UNIT = 'ekslink-lifecycle-watch.service';
export const LIFECYCLE_WATCH_SCRIPT = '/usr/local/sbin/ekslink-lifecycle-watch';

export interface ProxyUserDataInput {
  /** Stock AL2023 image only: the instance kit asset to bake at boot. */
  readonly bakeKit?: { readonly bucket: string; readonly key: string };
  readonly configText: string;
  readonly unit: ProxyUnit;
  readonly healthPort: number;
  /** systemd waits this long for the proxy to drain on stop: grace + deadline + margin. */
  readonly stopTimeoutSec: number;
  readonly readyTimeoutSec: number;
  /** The CloudWatch agent config and its Prometheus scrape config (infra/lib/fleet-metrics.ts). */
  readonly agentConfig: string;
  readonly scrapeConfig: string;
}

function writeConfig(i: ProxyUserDataInput): string[] {
  const group = i.unit.group ?? i.unit.user ?? 'root';
  return [
    `install -d -m 0750 -o root -g ${group} /etc/ekslink`,
    ...writeFile(PROXY_CONFIG_PATH, i.configText, '0640', `root:${group}`),
  ];
}

function installUnits(i: ProxyUserDataInput): string[] {
  const dropIn = `/etc/systemd/system/${PROXY_UNIT_NAME}.d/10-ekslink-fleet.conf`;
  return [
    // The fleet owns the drain durations, so it owns how long systemd waits for them (the
    // unit, and its log-file drop-in, come with the image).
    ...writeFile(dropIn, ['[Service]', `TimeoutStopSec=${i.stopTimeoutSec}`].join('\n'), '0644'),
    ...writeFile(LIFECYCLE_WATCH_SCRIPT, lifecycleWatchScript({ unitName: PROXY_UNIT_NAME }), '0755'),
    ...writeFile(
      `/etc/systemd/system/${LIFECYCLE_WATCH_UNIT}`,
      [
        '[Unit]',
        'Description=ekslink: drain the proxy when Auto Scaling terminates this instance, then complete the hook',
        `After=${PROXY_UNIT_NAME}`,
        '',
        '[Service]',
        `ExecStart=${LIFECYCLE_WATCH_SCRIPT}`,
        'Restart=on-failure',
        'RestartSec=5',
        '',
        '[Install]',
        'WantedBy=multi-user.target',
      ].join('\n'),
      '0644',
    ),
  ];
}

/** The user data commands, in order. */
export function proxyUserData(i: ProxyUserDataInput): string[] {
  return [
    ...preamble(),
    ...imdsIdentity(),
    ...(i.bakeKit !== undefined ? bakeAtBootCommands(i.bakeKit) : []),
    ...writeConfig(i),
    ...installUnits(i),
    ...writeFile(CW_AGENT_CONFIG_PATH, i.agentConfig, '0644'),
    ...writeFile(PROMETHEUS_CONFIG_PATH, i.scrapeConfig, '0644'),
    ...startCommands(),
    `systemctl enable --now ${LIFECYCLE_WATCH_UNIT}`,
    ...waitForHttp(`http://127.0.0.1:${i.healthPort}/readyz`, i.readyTimeoutSec),
    ...finished(),
  ];
}
