/**
 * The fleet's termination path, run for real: the lifecycle watcher and the proxy config cut
 * out of the synthesized user data, the real proxy bundle, the real `curl` and `aws` CLI.
 * Inside a network namespace the instance fake answers on 169.254.169.254:80 as IMDS does and
 * plays Auto Scaling (deregistration delay, then Terminating:Wait); `systemctl stop` is a
 * stand-in that does what systemd does for the unit (SIGTERM, wait for the exit, SIGKILL
 * after TimeoutStopSec). The one change to the rendered watcher: it polls every 1 s, not 5 s.
 * Measured: the time from Auto Scaling's decision to terminate to the hook being completed.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { DRAIN_MARGIN_SEC, LIFECYCLE_POLL_SEC, terminationTimeSec } from '../../infra/lib/lifecycle.js';
import { PROXY_CONFIG_PATH } from '../../infra/lib/proxy-config.js';
import { LIFECYCLE_WATCH_SCRIPT, PROXY_UNIT_NAME } from '../../infra/lib/proxy-user-data.js';
import { ProxyFleetStack } from '../../infra/lib/proxy-fleet-stack.js';
import type { ProxyConfigInput } from '../../proxy/config/schema.js';
import { ProxyProcess, NODE } from '../proxy/lifecycle-harness.js';
import { NetnsLab, netnsUnavailableReason, sh } from '../wireguard/netns-lab.js';
import { fleetProps, heredocFile, onlyResource, userDataOf } from './helpers.js';
import type { FakeEvent } from './instance-fake.js';
import { UNIT_PATH } from './unit-path.js';

const unavailable = netnsUnavailableReason();
if (unavailable) console.warn(`SKIPPED lifecycle watcher test: ${unavailable}`);

const FAKE = resolve('test/infra/instance-fake.ts');
// 2 s: the grace must outlast the health check's detection (1 s x 1 in the settings below).
const GRACE_SEC = 2;
const DEADLINE_SEC = 2;
const API_PORT = 4566;
/** One aws CLI call (Python start-up included) on a busy 2-core machine: seconds. */
const CLI_ALLOWANCE_SEC = 20;

/** systemd's `stop` for one unit, as far as the watcher relies on it. */
const SYSTEMCTL_SHIM = `#!/bin/bash
# systemctl stand-in: "stop UNIT" sends SIGTERM to the unit's main process and returns once it
# has exited (SIGKILL after TimeoutStopSec), as systemd does.
[ "$1" = stop ] || { echo "systemctl shim: only stop is supported" >&2; exit 1; }
pid=$(cat "$SHIM_DIR/$2.pid") || exit 5
echo "systemctl stop $2"
kill -TERM "$pid" 2>/dev/null || exit 0
for _ in $(seq 1 $(( TIMEOUT_STOP_SEC * 10 ))); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 0.1; done
kill -KILL "$pid"
`;

interface Run {
  events: FakeEvent[];
  watcherLines: { atMs: number; line: string }[];
  proxyExitMs: number;
  proxy: ProxyProcess;
}

describe.skipIf(unavailable !== undefined)('the fleet lifecycle watcher on a terminating instance', () => {
  const lab = new NetnsLab();
  let ns = '';
  let dir = '';
  let watchScript = '';
  let config: ProxyConfigInput;
  let timeoutStopSec = 0;
  let heartbeatSec = 0;
  let hookName = '';
  let groupName = '';

  beforeAll(async () => {
    // GIVEN the user data of a fleet with a 2 s grace and a 2 s deadline, behind a target group
    // without PROXY v2 whose settings pair with that drain (synth refuses any that do not)
    const template = Template.fromStack(
      new ProxyFleetStack(new App(), 'Fleet', {
        ...fleetProps({
          systemdUnitPath: UNIT_PATH,
          drainGraceSec: GRACE_SEC,
          drainDeadlineSec: DEADLINE_SEC,
          proxyProtocolMode: 'off',
          targetGroupSettings: {
            proxyProtocolV2: false,
            deregistrationDelaySec: GRACE_SEC + DEADLINE_SEC + DRAIN_MARGIN_SEC,
            connectionTermination: false,
            healthCheckPort: 8080,
            healthCheckIntervalSec: 1,
            unhealthyThresholdCount: 1,
          },
        }),
        deploymentName: 'lifecycle',
      }),
    );
    const userData = userDataOf(template);
    const rendered = heredocFile(userData, LIFECYCLE_WATCH_SCRIPT);
    expect(rendered).toContain(`POLL_SEC=${LIFECYCLE_POLL_SEC}\n`);
    watchScript = rendered.replace(`POLL_SEC=${LIFECYCLE_POLL_SEC}\n`, 'POLL_SEC=1\n');
    config = parseYaml(heredocFile(userData, PROXY_CONFIG_PATH)) as ProxyConfigInput;
    const dropIn = heredocFile(userData, `/etc/systemd/system/${PROXY_UNIT_NAME}.d/10-ekslink-fleet.conf`);
    timeoutStopSec = Number(/TimeoutStopSec=(\d+)/.exec(dropIn)![1]);
    const [, hook] = onlyResource(template, 'AWS::AutoScaling::LifecycleHook');
    const hookProps = hook.Properties as { LifecycleHookName: string; HeartbeatTimeout: number };
    hookName = hookProps.LifecycleHookName;
    heartbeatSec = hookProps.HeartbeatTimeout;
    // A group name as CloudFormation generates it from the ASG's logical ID.
    groupName = `Fleet-${onlyResource(template, 'AWS::AutoScaling::AutoScalingGroup')[0]}-AbCdEf012345`;

    dir = mkdtempSync(join(tmpdir(), 'ekslink-lifecycle-'));
    lab.removeAtCleanup(dir);
    mkdirSync(join(dir, 'bin'));
    mkdirSync(join(dir, 'home'));
    writeFileSync(join(dir, 'bin', 'systemctl'), SYSTEMCTL_SHIM, { mode: 0o755 });
    writeFileSync(join(dir, 'watch'), watchScript, { mode: 0o755 });
    ns = await lab.addNamespace('inst');
    // IMDS's address, on this namespace's loopback: nothing outside the namespace sees it.
    await sh('ip', ['-n', ns, 'addr', 'add', '169.254.169.254/32', 'dev', 'lo']);
    // The synth alone has taken over a minute with every infra file synthesizing at once on 2 cores.
  }, 180_000);

  afterAll(async () => {
    await lab.cleanup();
  }, 30_000);

  /**
   * One instance from launch to termination; `hold` keeps a client connection open through
   * the drain. A `null` delay ends when `delayOver` first says so (checked every 50 ms).
   */
  async function terminate(
    deregistrationDelayMs: number | null,
    hold: boolean,
    delayOver?: (events: FakeEvent[], proxyExitMs: number) => boolean,
  ): Promise<Run> {
    const fake = lab.spawnIn(ns, NODE, [
      FAKE,
      JSON.stringify({
        options: {
          instanceId: 'i-0fedcba9876543210',
          region: 'us-east-1',
          groupName,
          hookName,
          deregistrationDelayMs,
          heartbeatMs: heartbeatSec * 1000,
          healthCheckGraceMs: 0,
          instanceMetadataTags: true,
          roleName: 'FleetInstanceRole',
        },
        imds: { host: '169.254.169.254', port: 80 },
        api: { host: '127.0.0.1', port: API_PORT },
      }),
    ]);
    const events: FakeEvent[] = [];
    const hookEnded = new Promise<void>((resolveEnded, reject) => {
      createInterface({ input: fake.stdout! }).on('line', (line) => {
        const e = JSON.parse(line) as FakeEvent;
        events.push(e);
        if (e.event === 'hook_ended') resolveEnded();
      });
      fake.once('exit', (code) => reject(new Error(`instance fake exited (${code})`)));
    });
    while (!events.some((e) => e.event === 'listening')) await new Promise((r) => setTimeout(r, 50));

    const proxy = await ProxyProcess.start(config, mkdtempSync(join(dir, 'proxy-')), [
      'ip',
      'netns',
      'exec',
      ns,
    ]);
    writeFileSync(join(dir, `${PROXY_UNIT_NAME}.pid`), String(proxy.pid));
    let proxyExitMs = 0;
    void proxy.exited.then(() => (proxyExitMs = Date.now()));
    const watcher = lab.spawnIn(ns, 'env', [
      '-i',
      `PATH=${join(dir, 'bin')}:${process.env.PATH ?? ''}`,
      `HOME=${join(dir, 'home')}`,
      `SHIM_DIR=${dir}`,
      `TIMEOUT_STOP_SEC=${timeoutStopSec}`,
      `AWS_ENDPOINT_URL=http://127.0.0.1:${API_PORT}`,
      join(dir, 'watch'),
    ]);
    const watcherLines: Run['watcherLines'] = [];
    createInterface({ input: watcher.stdout! }).on('line', (line) =>
      watcherLines.push({ atMs: Date.now(), line }),
    );
    // The watcher is polling; a client connects (an idle connection the proxy keeps until its
    // deadline, well inside its 5 s ClientHello timeout), and Auto Scaling decides to terminate.
    await new Promise((r) => setTimeout(r, 1500));
    let client: ChildProcess | undefined;
    if (hold) {
      client = lab.spawnIn(ns, NODE, [
        '-e',
        "const s = require('node:net').connect(443, '127.0.0.1'); s.on('connect', () => console.log('connected')); s.on('close', () => process.exit(0));",
      ]);
      await new Promise((r) => client!.stdout!.once('data', r));
    }
    fake.stdin!.write(`${JSON.stringify({ cmd: 'terminate' })}\n`);
    if (deregistrationDelayMs === null) {
      const until = Date.now() + 60_000;
      while (!delayOver!(events, proxyExitMs) && Date.now() < until)
        await new Promise((r) => setTimeout(r, 50));
      fake.stdin!.write(`${JSON.stringify({ cmd: 'deregistered' })}\n`);
    }
    await Promise.race([
      hookEnded,
      new Promise((_, reject) => setTimeout(() => reject(new Error('hook not ended in 60 s')), 60_000)),
    ]);
    // The watcher exits 0 once it has logged the completed hook.
    const watcherExit = await Promise.race([
      new Promise<number | null>((r) =>
        watcher.exitCode !== null ? r(watcher.exitCode) : watcher.once('exit', r),
      ),
      new Promise<string>((r) => setTimeout(() => r('still running after 20 s'), 20_000)),
    ]);
    expect(watcherExit).toBe(0);
    fake.stdin!.end();
    await proxy.kill();
    client?.kill();
    return { events, watcherLines, proxyExitMs, proxy };
  }

  const at = (run: Run, pred: (e: FakeEvent) => boolean) => run.events.find(pred)?.atMs ?? NaN;

  it('drains alongside the deregistration delay and completes the hook as soon as the delay is over', async () => {
    // WHEN the deregistration delay outlasts the drain (1 s poll + 2 s grace + 2 s deadline): it
    // ends here only once the proxy has exited and the watcher has tried to complete the hook
    const refusedCalls = (events: FakeEvent[]) =>
      events.filter((e) => e.event === 'api' && e.action === 'CompleteLifecycleAction' && e.status === 400);
    const run = await terminate(
      null,
      true,
      (events, exitMs) => exitMs > 0 && refusedCalls(events).length > 0,
    );
    const decided = at(run, (e) => e.event === 'state' && e.state === 'Terminating');
    const waitStarted = at(run, (e) => e.event === 'state' && e.state === 'Terminating:Wait');
    const completed = at(
      run,
      (e) => e.event === 'api' && e.action === 'CompleteLifecycleAction' && e.status === 200,
    );
    const refused = refusedCalls(run.events);
    // THEN the proxy drained to its deadline (the held connection) while the NLB was still draining
    const drainStarted = Date.parse(
      run.proxy.events.find((e) => e.event === 'drain_started')!.time as string,
    );
    expect(drainStarted - decided).toBeLessThan((1 + CLI_ALLOWANCE_SEC) * 1000);
    expect(run.proxy.events.some((e) => e.event === 'drain_deadline')).toBe(true);
    expect(run.proxyExitMs).toBeLessThan(waitStarted);
    // AND the watcher's early attempts were refused ("No active Lifecycle Action") until Terminating:Wait
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((e) => String(e.message).startsWith('No active Lifecycle Action found'))).toBe(true);
    expect(completed).toBeGreaterThan(waitStarted);
    // AND the hook ended by completion, not at the heartbeat, one retry (+ the CLI) after the delay
    expect(run.events.find((e) => e.event === 'hook_ended')).toMatchObject({ why: 'completed_CONTINUE' });
    const afterDelayMs = completed - waitStarted;
    console.info(
      `termination (delay ${waitStarted - decided} ms > drain): decided -> hook completed ${completed - decided} ms, ${afterDelayMs} ms after the delay ended (retry every 1 s + one aws CLI call); heartbeat was ${heartbeatSec}s`,
    );
    expect(afterDelayMs).toBeLessThan((1 + CLI_ALLOWANCE_SEC) * 1000);
  }, 120_000);

  it('waits for the proxy to exit when the drain outlasts the deregistration delay', async () => {
    // WHEN the deregistration delay (0.5 s) is over long before the drain with an open connection
    const run = await terminate(500, true);
    const decided = at(run, (e) => e.event === 'state' && e.state === 'Terminating');
    const completed = at(
      run,
      (e) => e.event === 'api' && e.action === 'CompleteLifecycleAction' && e.status === 200,
    );
    // THEN the hook is completed only after the proxy has exited, at grace + deadline after the decision at the earliest
    expect(run.proxyExitMs).toBeGreaterThan(0);
    expect(completed).toBeGreaterThan(run.proxyExitMs);
    expect(completed - decided).toBeGreaterThanOrEqual((GRACE_SEC + DEADLINE_SEC) * 1000);
    const boundSec = terminationTimeSec({
      deregistrationDelaySec: 0.5,
      graceSec: GRACE_SEC,
      deadlineSec: DEADLINE_SEC,
      pollSec: 1,
    });
    console.info(
      `termination (drain > delay 0.5s): decided -> hook completed ${completed - decided} ms; bound ${boundSec}s + one aws CLI call`,
    );
    expect(completed - decided).toBeLessThan((boundSec + CLI_ALLOWANCE_SEC) * 1000);
    expect(run.watcherLines.map((l) => l.line)).toEqual(
      expect.arrayContaining([
        `ekslink-lifecycle-watch: target lifecycle state Terminated: stopping ${PROXY_UNIT_NAME} (drain)`,
        expect.stringMatching(/^ekslink-lifecycle-watch: lifecycle hook ekslink-drain completed \d+s after/),
      ]),
    );
  }, 90_000);
});
