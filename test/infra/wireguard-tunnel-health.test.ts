/**
 * The WireGuard peer's tunnel-health metric: the script the peer's timer runs, measured on a
 * real WireGuard tunnel (userspace wireguard-go between two network namespaces) before and
 * after a handshake, and with the interface gone; and the synthesized peer stack's timer,
 * scoped permission and alarm.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../infra/lib/artifacts.js';
import {
  HANDSHAKE_AGE_METRIC,
  INTERFACE_DOWN_AGE_SEC,
  TUNNEL_DOWN_MINUTES,
  TUNNEL_METRICS_NAMESPACE,
  tunnelHealthScript,
} from '../../infra/lib/wireguard-tunnel-health.js';
import { DEFAULT_MAX_HANDSHAKE_AGE_SEC } from '../../infra/lib/wireguard-health.js';
import { WireGuardPeerStack } from '../../infra/lib/wireguard-peer-stack.js';
import { cannotRunHere } from '../system-tools.js';
import { NetnsLab, netnsUnavailableReason, sh } from '../wireguard/netns-lab.js';
import { heredocFile, inlineStatements, peerProps, resourcesOfType, userDataOf } from './helpers.js';

const unavailable = netnsUnavailableReason();
const USERSPACE = { WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD: '1' };

describe('the handshake-age script on a real tunnel', () => {
  if (cannotRunHere(unavailable, 'the handshake-age script on a real tunnel')) return;
  const lab = new NetnsLab();
  const dir = mkdtempSync(join(tmpdir(), 'ekslink-wgh-'));
  const script = join(dir, 'ekslink-wg-health');
  let a: string;
  let b: string;
  const ifa = lab.name('a');
  const ifb = lab.name('b');
  afterAll(async () => {
    await lab.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  beforeAll(async () => {
    writeFileSync(script, tunnelHealthScript(), { mode: 0o755 });
    a = await lab.addNamespace('a');
    b = await lab.addNamespace('b');
    await lab.link(
      { ns: a, ifname: lab.name('va'), cidr: '10.211.0.1/24' },
      { ns: b, ifname: lab.name('vb'), cidr: '10.211.0.2/24' },
    );
    const keys = async () => {
      const priv = (await sh('wg', ['genkey'])).stdout.trim();
      const file = join(dir, `k${Math.random()}`);
      writeFileSync(file, `${priv}\n`, { mode: 0o600 });
      const pub = (await sh('bash', ['-c', `wg pubkey < ${file}`])).stdout.trim();
      return { file, pub };
    };
    const [ka, kb] = [await keys(), await keys()];
    for (const [ns, ifname, key, peer, addr, peerAddr, endpoint] of [
      [a, ifa, ka, kb, '10.212.0.1/32', '10.212.0.2/32', '10.211.0.2:51820'],
      [b, ifb, kb, ka, '10.212.0.2/32', '10.212.0.1/32', '10.211.0.1:51820'],
    ] as const) {
      lab.removeAtCleanup(`/var/run/wireguard/${ifname}.sock`);
      await lab.exec(ns, 'wireguard-go', [ifname], USERSPACE);
      await lab.exec(ns, 'wg', [
        'set',
        ifname,
        'private-key',
        key.file,
        'listen-port',
        '51820',
        'peer',
        peer.pub,
        'allowed-ips',
        peerAddr,
        'endpoint',
        endpoint,
      ]);
      await lab.exec(ns, 'ip', ['addr', 'add', addr, 'dev', ifname]);
      await lab.exec(ns, 'ip', ['link', 'set', ifname, 'up']);
      await lab.exec(ns, 'ip', ['route', 'add', peerAddr, 'dev', ifname]);
    }
  }, 30_000);

  const age = async () =>
    Number((await lab.exec(a, 'bash', [script, ifa, 'test-peer', '--print'])).stdout.trim());

  it('counts from boot before the first handshake, then reports seconds since the latest one', async () => {
    const uptime = Number((await sh('cut', ['-d.', '-f1', '/proc/uptime'])).stdout.trim());
    const before = await age();
    expect(before).toBeGreaterThanOrEqual(uptime);
    expect(before).toBeLessThan(uptime + 5);
    // WHEN a packet crosses the tunnel THEN the peers handshake and the age drops to ~0
    await lab.exec(a, 'bash', ['-c', 'echo probe > /dev/udp/10.212.0.2/9']);
    const deadline = Date.now() + 8000;
    let after = await age();
    while (after >= before && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      after = await age();
    }
    expect(after).toBeGreaterThanOrEqual(0);
    expect(after).toBeLessThan(10);
  }, 20_000);

  it(`reports ${INTERFACE_DOWN_AGE_SEC} when the interface is gone`, async () => {
    const gone = await lab.exec(a, 'bash', [script, lab.name('zz'), 'test-peer', '--print']);
    expect(Number(gone.stdout.trim())).toBe(INTERFACE_DOWN_AGE_SEC);
  });
});

describe('the peer stack', () => {
  let template: Template;
  beforeAll(() => {
    template = Template.fromStack(
      new WireGuardPeerStack(new App(), 'ekslink-t-wireguard-peer', {
        env: { account: '222222222222', region: 'us-east-1' },
        ...peerProps(),
        deploymentName: 't',
      }),
    );
  });

  it("installs the script and a one-minute timer for the peer's interface", () => {
    const userData = userDataOf(template);
    expect(heredocFile(userData, '/usr/local/sbin/ekslink-wg-health')).toBe(tunnelHealthScript());
    expect(heredocFile(userData, '/etc/systemd/system/ekslink-wg-health.service')).toContain(
      'ExecStart=/usr/local/sbin/ekslink-wg-health ekslink0 ekslink-t-wireguard-peer\n',
    );
    expect(heredocFile(userData, '/etc/systemd/system/ekslink-wg-health.timer')).toContain(
      'OnUnitActiveSec=60\n',
    );
    expect(userData).toContain('systemctl enable --now ekslink-wg-health.timer');
  });

  it("may put metrics into the tunnel namespace (and the agent's), nowhere else", () => {
    expect(inlineStatements(template).filter((s) => s.Action === 'cloudwatch:PutMetricData')).toEqual([
      {
        Action: 'cloudwatch:PutMetricData',
        Effect: 'Allow',
        Resource: '*',
        Condition: { StringEquals: { 'cloudwatch:namespace': ['ekslink', TUNNEL_METRICS_NAMESPACE] } },
      },
    ]);
  });

  it("alarms when the handshake is older than the peer's dead-tunnel limit for 3 minutes, or when data stops", () => {
    const alarms = resourcesOfType(template, 'AWS::CloudWatch::Alarm').map(
      ([, a]) => a.Properties as Record<string, unknown>,
    );
    expect(alarms).toEqual([
      expect.objectContaining({
        AlarmName: 'ekslink-t-wireguard-peer-TunnelDown',
        Namespace: TUNNEL_METRICS_NAMESPACE,
        MetricName: HANDSHAKE_AGE_METRIC,
        Dimensions: [{ Name: 'Peer', Value: 'ekslink-t-wireguard-peer' }],
        Statistic: 'Maximum',
        Threshold: DEFAULT_MAX_HANDSHAKE_AGE_SEC,
        ComparisonOperator: 'GreaterThanThreshold',
        EvaluationPeriods: TUNNEL_DOWN_MINUTES,
        DatapointsToAlarm: TUNNEL_DOWN_MINUTES,
        TreatMissingData: 'breaching',
      }),
    ]);
    const doc = readFileSync(join(REPO_ROOT, 'docs', 'operations.md'), 'utf8');
    expect(doc.slice(doc.indexOf('\n## Alarms\n'))).toMatch(/^### TunnelDown\n/m);
    expect(String(alarms[0]!.AlarmDescription)).toContain('Runbook: docs/operations.md, Alarms, TunnelDown.');
  });

  it('follows maxHandshakeAgeSec: the alarm and the self-healing watcher call the same age dead', () => {
    // GIVEN a peer that tolerates 10 minutes without a handshake
    const t = Template.fromStack(
      new WireGuardPeerStack(new App(), 'ekslink-slow-wireguard-peer', {
        env: { account: '222222222222', region: 'us-east-1' },
        ...peerProps({ maxHandshakeAgeSec: 600 }),
        deploymentName: 'slow',
      }),
    );
    // THEN the watcher marks the instance at 600 s and the alarm's threshold is 600 s
    expect(heredocFile(userDataOf(t), '/usr/local/sbin/ekslink-tunnel-health')).toContain(
      'MAX_AGE_SEC=600\n',
    );
    const [[, alarm]] = resourcesOfType(t, 'AWS::CloudWatch::Alarm') as [[string, Record<string, unknown>]];
    expect((alarm.Properties as Record<string, unknown>).Threshold).toBe(600);
  });
});
