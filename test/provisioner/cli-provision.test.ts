/**
 * The provision command: the real CLI entry (tsx cli/main.ts) for refusal and iam-policy,
 * and runProvision in process against moto for plan/apply output, confirmation and JSON.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, test } from 'vitest';
import { stringify } from 'yaml';
import { runProvision } from '../../provisioner/command.js';
import { MSG } from '../../provisioner/engine/messages.js';
import { useWorld } from './world.js';

const exec = promisify(execFile);
const TSX = join(process.cwd(), 'node_modules/.bin/tsx');

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(TSX, ['cli/main.ts', ...args], {
      cwd: process.cwd(),
      timeout: 30_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const world = useWorld();
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ekslink-cli-'));
});

function configFile(name: string): string {
  const path = join(dir, `${name}.yaml`);
  writeFileSync(path, stringify(world.config(name)));
  return path;
}

describe('ekslink provision (process)', () => {
  test('apply off a terminal without --yes is refused before any AWS call', async () => {
    const res = await cli([
      'provision',
      'apply',
      '--topology',
      'gcp-to-aws',
      '--config',
      configFile('refuse'),
    ]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('error EKL_PROVISION_NOT_CONFIRMED: refusing to apply without confirmation');
  });

  test('iam-policy prints a policy whose mutations are tag-conditioned; unknown topology is a usage error', async () => {
    const res = await cli(['provision', 'iam-policy', '--topology', 'gcp-to-aws', '--account', 'consumer']);
    expect(res.code).toBe(0);
    const policy = JSON.parse(res.stdout) as { Statement: { Action: string[]; Condition?: object }[] };
    const create = policy.Statement.find((s) => s.Action.includes('ec2:CreateVpcEndpoint') && s.Condition);
    expect(JSON.stringify(create?.Condition)).toContain('aws:RequestTag/chalk.ai/managed-by');
    const bad = await cli(['provision', 'iam-policy', '--topology', 'nope', '--account', 'consumer']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('EKL_PROVISION_UNKNOWN_TOPOLOGY');
  });

  test('iam-policy --partition, or the partition of the account region in --config; aws by default', async () => {
    const arns = (stdout: string) =>
      (JSON.parse(stdout) as { Statement: { Resource: string[] }[] }).Statement.flatMap(
        (s) => s.Resource,
      ).filter((r) => r !== '*');
    const base = ['provision', 'iam-policy', '--topology', 'gcp-to-aws', '--account', 'provider'];
    const byDefault = await cli(base);
    expect(arns(byDefault.stdout).length).toBeGreaterThan(0);
    expect(arns(byDefault.stdout).every((r) => r.startsWith('arn:aws:'))).toBe(true);

    const gov = await cli([...base, '--partition', 'aws-us-gov']);
    expect(gov.code).toBe(0);
    expect(arns(gov.stdout).every((r) => r.startsWith('arn:aws-us-gov:'))).toBe(true);

    const path = join(dir, 'china.yaml');
    const chinaConfig = world.config('china', (c) => {
      c.provider.region = 'cn-north-1';
      c.consumer.region = 'cn-north-1';
      c.eks.hostname = '0123456789abcdef0123456789abcdef.yl4.cn-north-1.eks.amazonaws.com.cn';
    });
    writeFileSync(path, stringify(chinaConfig));
    const china = await cli([...base, '--config', path]);
    expect(china.code).toBe(0);
    expect(arns(china.stdout).every((r) => r.startsWith('arn:aws-cn:'))).toBe(true);
    // An explicit --partition wins over the config's region.
    const explicit = await cli([...base, '--config', path, '--partition', 'aws']);
    expect(arns(explicit.stdout).every((r) => r.startsWith('arn:aws:'))).toBe(true);

    const bad = await cli([...base, '--partition', 'aws-eu']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('aws-eu');
  });

  test('a config error names the key and the fix', async () => {
    const path = join(dir, 'bad.yaml');
    const cfg = world.config('bad') as unknown as { consumer: { allowedCidrs: string[] } };
    cfg.consumer.allowedCidrs = ['0.0.0.0/0'];
    writeFileSync(path, stringify(cfg));
    const res = await cli(['provision', 'plan', '--topology', 'gcp-to-aws', '--config', path]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('consumer.allowedCidrs[0]: must be /8 or narrower');
  });
});

describe('runProvision (in process, against moto)', () => {
  const fast = { deps: { pollIntervalMs: 5 } };

  test('text: plan lists changes; apply asks, prints a line per step with time, then outputs', async () => {
    const lines: string[] = [];
    const questions: string[] = [];
    const path = configFile('cli-text');
    const io = { out: (l: string) => lines.push(l), interactive: true, ...fast };
    expect(
      await runProvision(
        'plan',
        { topology: 'gcp-to-aws', config: path, yes: false, output: 'text' },
        { ...io, confirm: async () => false },
      ),
    ).toBe(0);
    expect(lines).toContain('nlb (provider): 4 create');
    expect(lines.some((l) => l.startsWith('    + create load balancer ekl-cli-text'))).toBe(true);

    lines.length = 0;
    const declined = await runProvision(
      'apply',
      { topology: 'gcp-to-aws', config: path, yes: false, output: 'text' },
      {
        ...io,
        confirm: async (q) => (questions.push(q), false),
      },
    );
    expect(declined).toBe(1);
    expect(questions).toEqual(['Apply 8 change(s) to deployment cli-text? [y/N] ']);
    expect(lines.at(-1)).toBe('Cancelled: nothing was changed.');

    lines.length = 0;
    expect(
      await runProvision(
        'apply',
        { topology: 'gcp-to-aws', config: path, yes: false, output: 'text' },
        { ...io, confirm: async () => true },
      ),
    ).toBe(0);
    const stepLines = lines.filter((l) => l.startsWith('✓ '));
    expect(stepLines).toHaveLength(4);
    for (const l of stepLines) expect(l).toMatch(/\[\d+\.\ds\]$/);
    expect(lines.some((l) => /^ +server: https:\/\/vpce-/.test(l))).toBe(true);
    expect(lines.some((l) => l.includes('tls-server-name: 0123456789ABCDEF'))).toBe(true);
  });

  test('json: destroy --yes prints one JSON document', async () => {
    const lines: string[] = [];
    const path = configFile('cli-text');
    const code = await runProvision(
      'destroy',
      { topology: 'gcp-to-aws', config: path, yes: true, output: 'json' },
      {
        out: (l) => lines.push(l),
        interactive: false,
        confirm: async () => false,
        ...fast,
      },
    );
    expect(code).toBe(0);
    const doc = JSON.parse(lines.join('\n')) as {
      command: string;
      changed: number;
      messages: { code: string }[];
    };
    expect(doc).toMatchObject({ command: 'destroy', changed: 7 });
    expect(doc.messages.map((m) => m.code)).toContain(MSG.DESTROY_SUMMARY.code);
  });
});
