/** The engine without AWS: retry/backoff bounds, waiters, and the runner's order, codes and errors. */
import { describe, expect, test } from 'vitest';
import { ManualClock } from '../../provisioner/engine/clock.js';
import { MSG } from '../../provisioner/engine/messages.js';
import { MemorySink } from '../../provisioner/engine/output.js';
import { clientToken } from '../../provisioner/engine/client-token.js';
import {
  RetryStopped,
  backoffDelay,
  isAmbiguousFailure,
  retryableCode,
  withRetry,
} from '../../provisioner/engine/retry.js';
import { chooseKeeper } from '../../provisioner/topologies/shared/duplicates.js';
import { collectPages } from '../../provisioner/topologies/shared/pages.js';
import { applySteps, destroySteps, planSteps } from '../../provisioner/engine/runner.js';
import { change, type Step, type StepContext } from '../../provisioner/engine/step.js';
import { waitFor } from '../../provisioner/engine/waiter.js';
import type { ProvisionError } from '../../provisioner/errors.js';
import { StepFailedError } from '../../provisioner/errors.js';
import { buildPolicy } from '../../provisioner/iam/policy.js';

function awsError(code: string, status = 400): Error {
  return Object.assign(new Error(`${code} happened`), { name: code, $metadata: { httpStatusCode: status } });
}

describe('retry', () => {
  const policy = { maxAttempts: 5, baseDelayMs: 100, maxDelayMs: 1000, maxElapsedMs: 60_000 };

  test('throttling is retried with exponential backoff until success', async () => {
    const clock = new ManualClock();
    let calls = 0;
    const seen: string[] = [];
    const value = await withRetry(
      async () => {
        if (++calls < 4) throw awsError(calls % 2 ? 'Throttling' : 'RequestLimitExceeded', 503);
        return 'ok';
      },
      { clock, policy, random: () => 1, onRetry: (i) => seen.push(`${i.code}@${i.delayMs}`) },
    );
    expect(value).toBe('ok');
    expect(clock.sleeps).toEqual([100, 200, 400]);
    expect(seen).toEqual(['Throttling@100', 'RequestLimitExceeded@200', 'Throttling@400']);
  });

  test('the bound: attempts, then elapsed time', async () => {
    const clock = new ManualClock();
    const err = await withRetry(() => Promise.reject(awsError('Throttling')), {
      clock,
      policy,
      random: () => 0,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryStopped);
    expect(err).toMatchObject({ attempts: 5, exhausted: true });
    const clock2 = new ManualClock();
    const err2 = await withRetry(() => Promise.reject(awsError('Throttling')), {
      clock: clock2,
      policy: { ...policy, maxAttempts: 100, maxElapsedMs: 1000 },
      random: () => 1,
    }).catch((e: unknown) => e);
    expect(clock2.now()).toBeLessThanOrEqual(1000);
    expect((err2 as RetryStopped).exhausted).toBe(true);
  });

  test('non-retryable errors stop at once; per-call codes (eventual consistency) are retried', async () => {
    const clock = new ManualClock();
    const err = await withRetry(() => Promise.reject(awsError('AccessDenied', 403)), { clock, policy }).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ attempts: 1, exhausted: false });
    expect(retryableCode(awsError('InvalidVpcEndpointId.NotFound'))).toBeUndefined();
    expect(retryableCode(awsError('InvalidVpcEndpointId.NotFound'), ['InvalidVpcEndpointId.NotFound'])).toBe(
      'InvalidVpcEndpointId.NotFound',
    );
    expect(retryableCode(awsError('Whatever', 500))).toBe('Whatever');
    expect(retryableCode(Object.assign(new Error('reset'), { code: 'ECONNRESET' }))).toBe('network');
    expect(backoffDelay(policy, 10, () => 1)).toBe(1000);
  });
});

describe('waitFor', () => {
  test('polls with growing intervals until done', async () => {
    const clock = new ManualClock();
    const states = ['provisioning', 'provisioning', 'provisioning'];
    const polled: string[] = [];
    const value = await waitFor(
      'nlb',
      async () => (states.length ? { done: false, state: states.shift()! } : { done: true, value: 42 }),
      { clock, timeoutMs: 60_000, intervalMs: 1000, maxIntervalMs: 3000, onPoll: (s) => polled.push(s) },
    );
    expect(value).toBe(42);
    expect(clock.sleeps).toEqual([1000, 2000, 3000]);
    expect(polled).toHaveLength(3);
  });

  test('times out with the last state seen', async () => {
    const clock = new ManualClock();
    const err = (await waitFor('endpoint vpce-1', async () => ({ done: false, state: 'pending' }), {
      clock,
      timeoutMs: 5000,
      intervalMs: 1000,
    }).catch((e: unknown) => e)) as ProvisionError;
    expect(err.code).toBe('EKL_PROVISION_WAIT_TIMEOUT');
    expect(err.message).toContain('endpoint vpce-1 did not become ready within 5s (last state: pending)');
    expect(clock.now()).toBeLessThanOrEqual(5000);
  });
});

interface World extends StepContext {
  log: string[];
  have: Set<string>;
  failOn?: string;
}

function resourceStep(id: string, account: string): Step<World, boolean> {
  return {
    id,
    title: `manage ${id}`,
    account,
    permissions: [],
    read: async (w) => (w.log.push(`read ${id}`), w.have.has(id)),
    plan: (_w, exists) => [exists ? change('none', id, 'exists') : change('create', id, 'missing')],
    apply: async (w) => {
      if (w.failOn === id) throw awsError('UnauthorizedOperation', 403);
      w.log.push(`create ${id}`);
      w.have.add(id);
    },
    destroy: async (w, exists) => {
      w.log.push(`destroy ${id}`);
      w.have.delete(id);
      return exists ? [change('delete', id, 'destroy')] : [];
    },
  };
}

describe('runner', () => {
  const steps = [resourceStep('a', 'provider'), resourceStep('b', 'consumer'), resourceStep('c', 'provider')];
  const world = (): World => ({
    log: [],
    have: new Set(),
    accountId: (a) => (a === 'provider' ? '111111111111' : '222222222222'),
  });

  test('plan reads only; apply goes in order; destroy in reverse; messages carry codes', async () => {
    const w = world();
    const sink = new MemorySink();
    const opts = { sink, clock: new ManualClock() };
    expect((await planSteps(steps, w, opts)).changed).toBe(3);
    expect(w.log).toEqual(['read a', 'read b', 'read c']);
    w.log.length = 0;
    expect((await applySteps(steps, w, opts)).changed).toBe(3);
    expect(w.log).toEqual(['read a', 'create a', 'read b', 'create b', 'read c', 'create c']);
    expect((await applySteps(steps, w, opts)).changed).toBe(0);
    w.log.length = 0;
    const destroyed = await destroySteps(steps, w, opts);
    expect(destroyed.changed).toBe(3);
    expect(w.log.filter((l) => l.startsWith('destroy'))).toEqual(['destroy c', 'destroy b', 'destroy a']);
    expect((await destroySteps(steps, w, opts)).changed).toBe(0);
    expect(sink.codes()).toContain(MSG.PLAN_SUMMARY.code);
    expect(sink.withCode(MSG.STEP_UNCHANGED).map((m) => m.step)).toEqual(['a', 'b', 'c', 'c', 'b', 'a']);
  });

  test('a failing step stops the run with its step, account and AWS code', async () => {
    const w = { ...world(), failOn: 'b' };
    const sink = new MemorySink();
    const err = (await applySteps(steps, w, { sink, clock: new ManualClock() }).catch(
      (e: unknown) => e,
    )) as StepFailedError;
    expect(err).toBeInstanceOf(StepFailedError);
    expect(err.site).toMatchObject({ step: 'b', account: 'consumer', accountId: '222222222222' });
    expect(err.awsCode).toBe('UnauthorizedOperation');
    expect(err.message).toBe(
      'step b (consumer account 222222222222) failed: UnauthorizedOperation: UnauthorizedOperation happened',
    );
    expect(w.have.has('c')).toBe(false);
    expect(sink.withCode(MSG.STEP_FAILED)[0]!.data).toMatchObject({ awsCode: 'UnauthorizedOperation' });
  });
});

test('buildPolicy merges declarations with the same resources and condition', () => {
  const policy = buildPolicy([
    { why: 'read things', actions: ['ec2:DescribeA'], resources: ['*'], tagCondition: 'none' },
    { why: 'read more', actions: ['ec2:DescribeB', 'ec2:DescribeA'], resources: ['*'], tagCondition: 'none' },
    {
      why: 'delete tagged',
      actions: ['ec2:DeleteX'],
      resources: ['arn:aws:ec2:*:*:x/*'],
      tagCondition: 'resource',
    },
  ]);
  expect(policy.Statement).toEqual([
    { Sid: 'ReadThings', Effect: 'Allow', Action: ['ec2:DescribeA', 'ec2:DescribeB'], Resource: ['*'] },
    {
      Sid: 'DeleteTagged',
      Effect: 'Allow',
      Action: ['ec2:DeleteX'],
      Resource: ['arn:aws:ec2:*:*:x/*'],
      Condition: { StringEquals: { 'aws:ResourceTag/chalk.ai/managed-by': 'chalk' } },
    },
  ]);
});

describe('consistency helpers', () => {
  test('a list that is still handing out tokens at its page bound is an error, never a short list', async () => {
    let served = 0;
    const fetch = async (token: string | undefined) => {
      served++;
      return { items: [token ?? 'first'], next: `t${served}` };
    };
    const err = (await collectPages('VPC endpoints', fetch, 3).catch((e: unknown) => e)) as ProvisionError;
    expect(err.code).toBe('EKL_PROVISION_PARTIAL_LIST');
    expect(err.message).toMatch(/^listing VPC endpoints stopped at 3 pages \(3 items\) with more to come/);
    expect(served).toBe(3);
    const done = await collectPages('x', async (t) => ({ items: [t ?? 'a'], next: t ? undefined : 'b' }));
    expect(done).toEqual(['a', 'b']);
  });

  test('client tokens: the same deployment, step and request give the same token; anything else another', () => {
    const base = clientToken('acme', 'vpc-endpoint', {
      VpcId: 'vpc-1',
      SubnetIds: ['a', 'b'],
      replacing: null,
    });
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    expect(
      clientToken('acme', 'vpc-endpoint', { SubnetIds: ['a', 'b'], replacing: null, VpcId: 'vpc-1' }),
    ).toBe(base);
    for (const other of [
      clientToken('acme2', 'vpc-endpoint', { VpcId: 'vpc-1', SubnetIds: ['a', 'b'], replacing: null }),
      clientToken('acme', 'endpoint-service', { VpcId: 'vpc-1', SubnetIds: ['a', 'b'], replacing: null }),
      clientToken('acme', 'vpc-endpoint', { VpcId: 'vpc-1', SubnetIds: ['a', 'b'], replacing: 'vpce-old' }),
    ])
      expect(other).not.toBe(base);
  });

  test('ambiguous failures: no answer or a server error may have been carried out; throttling was not', () => {
    const hangUp = Object.assign(new Error('socket hang up'), {
      name: 'TimeoutError',
      code: 'ECONNRESET',
      $metadata: {},
    });
    expect(retryableCode(hangUp)).toBe('network');
    expect(isAmbiguousFailure(hangUp)).toBe(true);
    expect(isAmbiguousFailure(awsError('InternalError', 500))).toBe(true);
    expect(isAmbiguousFailure(awsError('RequestLimitExceeded', 503))).toBe(false);
    expect(isAmbiguousFailure(awsError('InvalidParameterValue'))).toBe(false);
  });

  test('duplicates: keep the one in use, then the oldest, then the lowest ID; say why', () => {
    const items = [
      { id: 'b', state: 'pending', at: 1 },
      { id: 'c', state: 'available', at: 3 },
      { id: 'a', state: 'available', at: 2 },
    ];
    const rules = {
      id: (x: (typeof items)[number]) => x.id,
      inUse: (x: (typeof items)[number]) => ({ score: x.state === 'available' ? 1 : 0, as: x.state }),
      created: (x: (typeof items)[number]) => x.at,
    };
    const inUse = chooseKeeper(items, rules);
    expect([inUse.kept?.id, inUse.extras.map((x) => x.id), inUse.why]).toEqual(['a', ['c', 'b'], 'oldest']);
    const avail = chooseKeeper(items.slice(0, 2), rules);
    expect([avail.kept?.id, avail.why]).toEqual(['c', 'in use (available)']);
    const noTime = chooseKeeper(
      items.map((x) => ({ ...x, state: 'x' })),
      { id: rules.id },
    );
    expect([noTime.kept?.id, noTime.why]).toEqual(['a', 'lowest ID (AWS gives no creation time)']);
  });
});
