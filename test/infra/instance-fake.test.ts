/**
 * The instance fake's own tests: IMDSv2 rules and the lifecycle state machine over HTTP, and
 * the real AWS CLI signing with the credentials the fake's IMDS handed out (loopback only).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { InstanceFake, type InstanceFakeOptions, listenInstanceFake } from './instance-fake.js';

const execFileP = promisify(execFile);

const OPTIONS: InstanceFakeOptions = {
  instanceId: 'i-0123456789abcdef0',
  region: 'us-east-1',
  groupName: 'Fleet-FleetAsgASG-0123ABCD',
  hookName: 'ekslink-drain',
  deregistrationDelayMs: 300,
  heartbeatMs: 60_000,
  healthCheckGraceMs: 0,
  instanceMetadataTags: true,
  roleName: 'FleetInstanceRole',
};

let closeFake: (() => Promise<void>) | undefined;
afterEach(async () => {
  await closeFake?.();
  closeFake = undefined;
});

async function start(overrides: Partial<InstanceFakeOptions> = {}) {
  const fake = new InstanceFake({ ...OPTIONS, ...overrides });
  const ports = await listenInstanceFake(
    fake,
    { host: '127.0.0.1', port: 0 },
    { host: '127.0.0.1', port: 0 },
  );
  closeFake = ports.close;
  const imds = `http://127.0.0.1:${ports.imdsPort}`;
  const token = async () =>
    (
      await fetch(`${imds}/latest/api/token`, {
        method: 'PUT',
        headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '60' },
      })
    ).text();
  const get = async (path: string, t?: string) => {
    const res = await fetch(`${imds}/latest/meta-data/${path}`, {
      headers: t === undefined ? {} : { 'x-aws-ec2-metadata-token': t },
    });
    return { status: res.status, body: await res.text() };
  };
  return { fake, ports, imds, token, get };
}

/** The real AWS CLI, with nothing but the fake to get credentials and answers from. */
async function aws(ports: { imdsPort: number; apiPort: number }, args: string[]) {
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: mkdtempSync(join(tmpdir(), 'ekslink-awscli-')),
    AWS_EC2_METADATA_SERVICE_ENDPOINT: `http://127.0.0.1:${ports.imdsPort}/`,
    AWS_ENDPOINT_URL: `http://127.0.0.1:${ports.apiPort}`,
  };
  try {
    const r = await execFileP('aws', args, { env, timeout: 30_000 });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { code?: number | string; stdout?: string; stderr?: string };
    if (e.code === 'ENOENT')
      throw new Error('the aws CLI is missing: apt-get install awscli (or pip install awscli)', {
        cause: err,
      });
    return { code: Number(e.code), out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

const complete = (o: Partial<{ group: string; hook: string }> = {}) => [
  'autoscaling',
  'complete-lifecycle-action',
  '--region',
  'us-east-1',
  '--auto-scaling-group-name',
  o.group ?? OPTIONS.groupName,
  '--lifecycle-hook-name',
  o.hook ?? OPTIONS.hookName,
  '--instance-id',
  OPTIONS.instanceId,
  '--lifecycle-action-result',
  'CONTINUE',
];

describe('IMDSv2', () => {
  it('answers only with a session token (no IMDSv1), and refuses a bad TTL or a proxied token request', async () => {
    const { imds, token, get } = await start();
    expect((await get('instance-id')).status).toBe(401);
    expect((await get('instance-id', 'not-a-token')).status).toBe(401);
    expect((await fetch(`${imds}/latest/api/token`, { method: 'PUT' })).status).toBe(400);
    const proxied = await fetch(`${imds}/latest/api/token`, {
      method: 'PUT',
      headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '60', 'x-forwarded-for': '10.0.0.9' },
    });
    expect(proxied.status).toBe(403);
    expect(await get('instance-id', await token())).toEqual({ status: 200, body: OPTIONS.instanceId });
  });

  it('serves the group name tag only when instance metadata tags are on', async () => {
    const on = await start();
    expect(await on.get('tags/instance/aws:autoscaling:groupName', await on.token())).toEqual({
      status: 200,
      body: OPTIONS.groupName,
    });
    await closeFake?.();
    const off = await start({ instanceMetadataTags: false });
    expect((await off.get('tags/instance/aws:autoscaling:groupName', await off.token())).status).toBe(404);
  });

  it('reports the target lifecycle state Terminated from the start of the termination, before the hook is active', async () => {
    const { fake, token, get } = await start();
    const t = await token();
    expect((await get('autoscaling/target-lifecycle-state', t)).body).toBe('InService');
    fake.terminate();
    expect(fake.state).toBe('Terminating');
    expect((await get('autoscaling/target-lifecycle-state', t)).body).toBe('Terminated');
  });
});

describe('lifecycle and the Auto Scaling API through the real AWS CLI', () => {
  it('refuses CompleteLifecycleAction during the deregistration delay, accepts it in Terminating:Wait, and terminates', async () => {
    // The delay ends when this test says so: no race with the CLI's start-up on a busy machine.
    const { fake, ports } = await start({ deregistrationDelayMs: null });
    fake.terminate();
    const early = await aws(ports, complete());
    expect(fake.state).toBe('Terminating');
    expect(early.code).not.toBe(0);
    expect(early.out).toContain('No active Lifecycle Action found with instance ID i-0123456789abcdef0');
    fake.deregistrationComplete();
    expect(fake.state).toBe('Terminating:Wait');
    expect(await aws(ports, complete())).toMatchObject({ code: 0 });
    expect(fake.state).toBe('Terminated');
    expect(fake.events.find((e) => e.event === 'hook_ended')).toMatchObject({ why: 'completed_CONTINUE' });
  }, 60_000);

  it('refuses a wrong group or hook name even in Terminating:Wait', async () => {
    const { fake, ports } = await start({ deregistrationDelayMs: 0 });
    fake.terminate();
    await new Promise((r) => setTimeout(r, 50));
    const wrong = await aws(ports, complete({ hook: 'other-hook' }));
    expect(wrong.out).toContain('No Lifecycle Hook found with name other-hook');
    expect(fake.state).toBe('Terminating:Wait');
  }, 60_000);

  it('leaves Terminating for Terminating:Wait after the deregistration delay on its own', async () => {
    const { fake } = await start({ deregistrationDelayMs: 100 });
    fake.terminate();
    await new Promise((r) => setTimeout(r, 300));
    expect(fake.state).toBe('Terminating:Wait');
  });

  it('ends Terminating:Wait with CONTINUE at the heartbeat when nobody completes it', async () => {
    const { fake } = await start({ deregistrationDelayMs: 0, heartbeatMs: 100 });
    fake.terminate();
    await new Promise((r) => setTimeout(r, 300));
    expect(fake.state).toBe('Terminated');
    expect(fake.events.find((e) => e.event === 'hook_ended')).toMatchObject({ why: 'heartbeat_timeout' });
  });

  it('marks the instance unhealthy, except within the grace period when asked to respect it', async () => {
    const setHealth = ['autoscaling', 'set-instance-health', '--region', 'us-east-1'];
    const args = ['--instance-id', OPTIONS.instanceId, '--health-status', 'Unhealthy'];
    const grace = await start({ healthCheckGraceMs: 60_000 });
    expect(await aws(grace.ports, [...setHealth, ...args, '--should-respect-grace-period'])).toMatchObject({
      code: 0,
    });
    expect(grace.fake.health).toBe('Healthy');
    await closeFake?.();
    const after = await start();
    expect(await aws(after.ports, [...setHealth, ...args, '--should-respect-grace-period'])).toMatchObject({
      code: 0,
    });
    expect(after.fake.health).toBe('Unhealthy');
  }, 60_000);

  it('refuses a request not signed with the instance role credentials', async () => {
    const { ports } = await start();
    const res = await fetch(`http://127.0.0.1:${ports.apiPort}/`, {
      method: 'POST',
      body: new URLSearchParams({ Action: 'SetInstanceHealth', InstanceId: OPTIONS.instanceId }),
    });
    expect(res.status).toBe(403);
    expect(await res.text()).toContain('<Code>InvalidClientTokenId</Code>');
  });
});
