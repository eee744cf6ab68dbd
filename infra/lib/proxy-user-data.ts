/**
 * User data of a proxy instance: Node 24 from the AL2023 repository, the bundle from the
 * CDK asset, the config rendered from props, the packaging systemd unit plus drop-ins
 * for the drain timeout and log file, a lifecycle watcher that drains on scale-in and then
 * completes the termination hook, the
 * CloudWatch agent, and a readiness wait whose exit code becomes the CloudFormation signal.
 */
import type { ProxyUnit } from './artifacts.js';
import { BUNDLE_ENTRY } from './artifacts.js';
import { lifecycleWatchScript } from './lifecycle.js';
import { PROXY_CONFIG_PATH } from './proxy-config.js';
import {
  BOOTSTRAP_LOG,
  finished,
  imdsIdentity,
  installPackages,
  preamble,
  startCloudWatchAgent,
  waitForHttp,
  writeFile,
} from './user-data-common.js';

export const PROXY_UNIT_NAME = 'ekslink-proxy.service';
export const PROXY_LOG = '/var/log/ekslink/proxy.log';
export const LIFECYCLE_WATCH_UNIT = 'ekslink-lifecycle-watch.service';
export const LIFECYCLE_WATCH_SCRIPT = '/usr/local/sbin/ekslink-lifecycle-watch';
/** AL2023 packages: Node 24 (namespaced as node-24), the CloudWatch agent, cfn-signal, unzip, logrotate. */
export const PROXY_PACKAGES = [
  'nodejs24',
  'amazon-cloudwatch-agent',
  'aws-cfn-bootstrap',
  'unzip',
  'logrotate',
];

export interface ProxyUserDataInput {
  readonly bundleBucket: string;
  readonly bundleKey: string;
  readonly configText: string;
  readonly unit: ProxyUnit;
  readonly healthPort: number;
  /** systemd waits this long for the proxy to drain on stop: grace + deadline + margin. */
  readonly stopTimeoutSec: number;
  readonly logGroupName: string;
  readonly readyTimeoutSec: number;
}

function installNode(): string[] {
  return [
    // AL2023 namespaces Node.js: the package installs /usr/bin/node-24; alternatives makes it /usr/bin/node.
    'alternatives --set node /usr/bin/node-24',
    'test "$(node --version | cut -d. -f1)" = v24',
  ];
}

function installBundle(i: ProxyUserDataInput): string[] {
  const dir = i.unit.bundleInstallDir;
  return [
    `aws s3 cp "s3://${i.bundleBucket}/${i.bundleKey}" /tmp/ekslink-bundle.zip --region "$REGION" --only-show-errors`,
    `rm -rf ${dir}.new && install -d -m 0755 ${dir}.new`,
    `unzip -q /tmp/ekslink-bundle.zip -d ${dir}.new && rm -f /tmp/ekslink-bundle.zip`,
    `test -f ${dir}.new/${BUNDLE_ENTRY}`,
    `rm -rf ${dir} && mv ${dir}.new ${dir} && chown -R root:root ${dir} && chmod -R go-w ${dir}`,
  ];
}

function serviceAccount(unit: ProxyUnit): string[] {
  if (unit.user === undefined) return [];
  const group = unit.group ?? unit.user;
  return [
    `getent group ${group} >/dev/null || groupadd --system ${group}`,
    `id -u ${unit.user} >/dev/null 2>&1 || useradd --system --gid ${group} --no-create-home --home-dir /nonexistent --shell /sbin/nologin ${unit.user}`,
  ];
}

function writeConfig(i: ProxyUserDataInput): string[] {
  const group = i.unit.group ?? i.unit.user ?? 'root';
  return [
    `install -d -m 0750 -o root -g ${group} /etc/ekslink`,
    ...writeFile(PROXY_CONFIG_PATH, i.configText, '0640', `root:${group}`),
    `node ${i.unit.bundleInstallDir}/${BUNDLE_ENTRY} proxy --check-config ${PROXY_CONFIG_PATH}`,
  ];
}

function installUnits(i: ProxyUserDataInput): string[] {
  const dropIn = `/etc/systemd/system/${PROXY_UNIT_NAME}.d/10-ekslink-fleet.conf`;
  return [
    ...writeFile(`/etc/systemd/system/${PROXY_UNIT_NAME}`, i.unit.text, '0644'),
    // The fleet owns the drain durations, so it owns how long systemd waits for them; the
    // JSON log lines go to a file the CloudWatch agent ships (it cannot read the journal).
    ...writeFile(
      dropIn,
      [
        '[Service]',
        `TimeoutStopSec=${i.stopTimeoutSec}`,
        `StandardOutput=append:${PROXY_LOG}`,
        'StandardError=inherit',
      ].join('\n'),
      '0644',
    ),
    'install -d -m 0750 /var/log/ekslink',
    ...writeFile(
      '/etc/logrotate.d/ekslink',
      `${PROXY_LOG} {\n  daily\n  maxsize 100M\n  rotate 7\n  compress\n  missingok\n  notifempty\n  copytruncate\n}`,
      '0644',
    ),
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
    'systemctl daemon-reload',
    `systemctl enable --now ${PROXY_UNIT_NAME} ${LIFECYCLE_WATCH_UNIT}`,
  ];
}

/** The user data commands, in order. */
export function proxyUserData(i: ProxyUserDataInput): string[] {
  return [
    ...preamble(),
    ...installPackages(PROXY_PACKAGES),
    ...installNode(),
    ...imdsIdentity(),
    ...serviceAccount(i.unit),
    ...installBundle(i),
    ...writeConfig(i),
    ...installUnits(i),
    ...startCloudWatchAgent(i.logGroupName, [
      { path: PROXY_LOG, streamSuffix: 'proxy' },
      { path: BOOTSTRAP_LOG, streamSuffix: 'bootstrap' },
    ]),
    ...waitForHttp(`http://127.0.0.1:${i.healthPort}/readyz`, i.readyTimeoutSec),
    ...finished(),
  ];
}
