/**
 * The one install script of an instance (packaging/instance/ekslink-install), run for real
 * on this machine into a scratch root (`--root`): the kit is staged by the same function
 * the image pipeline and the fleet use, packages are recorded instead of installed, units
 * are enabled with `systemctl --root`. The image checks the pipeline's test component runs
 * are run against that root too, and the listener check inside a network namespace.
 */
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_BUNDLE_DIR, DEFAULT_SYSTEMD_UNIT_PATH } from '../../infra/lib/artifacts.js';
import { MAX_UNIT_EXPOSURE } from '../../infra/lib/image-components.js';
import { bundleSha256, ekslinkVersion, type StagedKit } from '../../infra/lib/instance-kit.js';
import { ProxyFleetStack } from '../../infra/lib/proxy-fleet-stack.js';
import { fleetProps, inlineStatements, userDataOf } from './helpers.js';
import { bakeScratchRoot, runInstall, scratchRoot } from './scratch-root.js';
import { missingCommandsReason, requireHere } from '../system-tools.js';

const work = mkdtempSync(join(tmpdir(), 'ekslink-root-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

let kit: StagedKit;
let root: string;
let bake: ReturnType<typeof runInstall>;

function install(args: string[], r = root) {
  return runInstall(kit, args, r);
}
function checks(args: string[], r = root) {
  return spawnSync('bash', [join(kit.dir, 'ekslink-image-checks'), ...args, '--root', r], {
    encoding: 'utf8',
  });
}
const mode = (p: string) => (statSync(join(root, p)).mode & 0o7777).toString(8).padStart(4, '0');
const owner = (p: string) => `${statSync(join(root, p)).uid}:${statSync(join(root, p)).gid}`;
const idOf = (db: 'passwd' | 'group', name: string) =>
  readFileSync(join(root, 'etc', db), 'utf8')
    .split('\n')
    .map((l) => l.split(':'))
    .find((f) => f[0] === name);

beforeAll(() => {
  // GIVEN the kit as synth stages it and an empty root WHEN bake runs into it
  ({ kit, root, bake } = bakeScratchRoot(join(work, 'root')));
});

describe('ekslink-install bake --root', () => {
  it('succeeds, and records the packages it would install instead of installing them', () => {
    expect(bake.status, String(bake.stderr)).toBe(0);
    const recorded = readFileSync(join(root, 'var/lib/ekslink/skipped-packages'), 'utf8').trim().split('\n');
    expect(recorded).toEqual(['nodejs24', 'amazon-cloudwatch-agent', 'aws-cfn-bootstrap', 'logrotate']);
  });

  it("creates the unit's system account with no login and no home", () => {
    const user = idOf('passwd', 'ekslink');
    const group = idOf('group', 'ekslink');
    expect(user).toBeDefined();
    expect(user![3]).toBe(group![2]);
    expect(user!.slice(5)).toEqual(['/nonexistent', '/sbin/nologin']);
    expect(Number(user![2])).toBeLessThan(1000);
  });

  it('installs each file with its mode and owner', () => {
    const gid = idOf('group', 'ekslink')![2];
    const expected: [string, string, string][] = [
      ['etc/systemd/system/ekslink-proxy.service', '0644', '0:0'],
      ['etc/systemd/system/ekslink-proxy.service.d/20-ekslink-log.conf', '0644', '0:0'],
      ['etc/sysctl.d/90-ekslink-proxy.conf', '0644', '0:0'],
      ['etc/logrotate.d/ekslink', '0644', '0:0'],
      ['usr/local/sbin/ekslink-install', '0755', '0:0'],
      ['usr/local/sbin/ekslink-image-checks', '0755', '0:0'],
      ['etc/ekslink', '0750', `0:${gid}`],
      ['etc/ekslink/image-release', '0644', '0:0'],
      ['var/log/ekslink', '0750', '0:0'],
      ['opt/ekslink/dist', '0755', '0:0'],
    ];
    for (const [p, m, o] of expected) expect([p, mode(p), owner(p)]).toEqual([p, m, o]);
    // Every bundle file is root's, readable by all, writable by nobody else (0644, or 0755
    // for the entry point, which keeps its shebang's execute bit).
    const bundle = execFileSync('find', ['opt/ekslink/dist', '-type', 'f'], { cwd: root, encoding: 'utf8' })
      .trim()
      .split('\n');
    expect(bundle.length).toBeGreaterThan(10);
    for (const f of bundle) {
      expect([f, owner(f)]).toEqual([f, '0:0']);
      expect(['0644', '0755'], f).toContain(mode(f));
    }
  });

  it('installs the packaging unit unchanged and the bundle where its ExecStart runs it', () => {
    expect(readFileSync(join(root, 'etc/systemd/system/ekslink-proxy.service'), 'utf8')).toBe(
      readFileSync(DEFAULT_SYSTEMD_UNIT_PATH, 'utf8'),
    );
    expect(
      readFileSync(join(root, 'opt/ekslink/dist/ekslink.mjs')).equals(
        readFileSync(join(DEFAULT_BUNDLE_DIR, 'ekslink.mjs')),
      ),
    ).toBe(true);
    expect(bundleSha256(join(root, 'opt/ekslink/dist'))).toBe(bundleSha256(DEFAULT_BUNDLE_DIR));
  });

  it('stamps the version and the bundle hash the AMI is tagged with', () => {
    expect(readFileSync(join(root, 'etc/ekslink/image-release'), 'utf8')).toBe(
      `EKSLINK_VERSION=${ekslinkVersion()}\nEKSLINK_BUNDLE_SHA256=${bundleSha256(DEFAULT_BUNDLE_DIR)}\nNODE_VERSION=none\n`,
    );
    expect(checks(['release', ekslinkVersion(), kit.bundleSha256]).status).toBe(0);
    const wrong = checks(['release', ekslinkVersion(), '0'.repeat(64)]);
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toContain('does not name bundle');
  });

  it('masks sshd, which the no-ssh image check sees', () => {
    for (const u of ['sshd.service', 'sshd.socket']) {
      expect(readlinkSync(join(root, 'etc/systemd/system', u))).toBe('/dev/null');
    }
    expect(checks(['no-ssh']).status).toBe(0);
    const other = scratchRoot(join(work, 'no-mask'));
    const r = checks(['no-ssh'], other);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('sshd.service is not masked');
  });

  it('writes only sysctl keys this kernel knows', () => {
    const keys = readFileSync(join(root, 'etc/sysctl.d/90-ekslink-proxy.conf'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '' && !l.startsWith('#'))
      .map((l) => l.split('=')[0]!.trim());
    expect(keys.length).toBeGreaterThan(3);
    for (const k of keys) expect(existsSync(join('/proc/sys', ...k.split('.'))), k).toBe(true);
  });

  it('leaves the proxy disabled until start: an image without config must not crash-loop', () => {
    expect(existsSync(join(root, 'etc/systemd/system/multi-user.target.wants/ekslink-proxy.service'))).toBe(
      false,
    );
  });

  it('is idempotent: a second bake gives the same tree', () => {
    const list = () =>
      execFileSync('find', ['.', '-printf', '%p %m %U:%G %s\\n'], { cwd: root, encoding: 'utf8' })
        .split('\n')
        .filter((l) => !/^\.\/etc\/(passwd|group|shadow|gshadow)-/.test(l))
        .sort();
    const before = list();
    expect(install(['bake']).status).toBe(0);
    expect(list()).toEqual(before);
  });
});

describe('the unit the image carries', () => {
  it(`has a systemd-analyze security exposure at most ${MAX_UNIT_EXPOSURE}; a weakened copy fails the same check`, () => {
    const ok = checks(['exposure', MAX_UNIT_EXPOSURE.toFixed(1)]);
    expect(ok.status, ok.stderr).toBe(0);
    const level = Number(/exposure ([\d.]+) </.exec(ok.stdout)![1]);
    expect(level).toBeGreaterThan(0);
    expect(level).toBeLessThanOrEqual(MAX_UNIT_EXPOSURE);
    // GIVEN the same unit without its sandbox
    const weak = scratchRoot(join(work, 'weak'));
    const unit = readFileSync(DEFAULT_SYSTEMD_UNIT_PATH, 'utf8')
      .split('\n')
      .filter((l) => !/^(Protect|Private|Restrict|SystemCall|CapabilityBoundingSet|NoNewPrivileges)/.test(l))
      .join('\n');
    mkdirSync(join(weak, 'etc/systemd/system'), { recursive: true });
    writeFileSync(join(weak, 'etc/systemd/system/ekslink-proxy.service'), unit);
    const bad = checks(['exposure', MAX_UNIT_EXPOSURE.toFixed(1)], weak);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/exposure [\d.]+ is above 2\.0/);
  });
});

describe('ekslink-install start --root', () => {
  it('refuses to start without the config user data writes', () => {
    const r = install(['start']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('/etc/ekslink/proxy.yaml is missing');
  });

  it('enables the proxy once the config is there (from the installed copy of the script)', () => {
    writeFileSync(join(root, 'etc/ekslink/proxy.yaml'), 'listen: {}\n');
    const r = spawnSync('bash', [join(root, 'usr/local/sbin/ekslink-install'), 'start', '--root', root], {
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    const wants = join(root, 'etc/systemd/system/multi-user.target.wants/ekslink-proxy.service');
    expect(lstatSync(wants).isSymbolicLink()).toBe(true);
    expect(readlinkSync(wants)).toBe('/etc/systemd/system/ekslink-proxy.service');
  });

  it('refuses an unknown option with the option named', () => {
    const r = install(['bake', '--packges', 'skip']);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("unknown option '--packges'");
  });
});

describe('the listener check (test component) in a network namespace', () => {
  const ns = `ekl-lst-${process.pid}`;
  afterAll(() => spawnSync('ip', ['netns', 'del', ns]));

  it('passes with only the proxy ports off loopback and names any other listener', async () => {
    expect(spawnSync('ip', ['netns', 'add', ns]).status).toBe(0);
    execFileSync('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']);
    execFileSync('ip', ['netns', 'exec', ns, 'ip', 'addr', 'add', '10.213.0.1/24', 'dev', 'lo']);
    // GIVEN listeners on the proxy ports, one on loopback only, and (later) a stray one
    const listen = (host: string, port: number) =>
      spawn(
        'ip',
        [
          'netns',
          'exec',
          ns,
          'python3',
          '-c',
          `import socket,time
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("${host}", ${port})); s.listen(); print("up", flush=True); time.sleep(20)`,
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
    const up = (p: ReturnType<typeof listen>) =>
      new Promise<void>((resolve) => p.stdout!.once('data', () => resolve()));
    const procs = [listen('0.0.0.0', 443), listen('0.0.0.0', 8080), listen('127.0.0.1', 9999)];
    try {
      await Promise.all(procs.map(up));
      const run = (ports: string) =>
        spawnSync(
          'ip',
          ['netns', 'exec', ns, 'bash', join(kit.dir, 'ekslink-image-checks'), 'listeners', ports],
          {
            encoding: 'utf8',
          },
        );
      expect(run('443,8080').status).toBe(0);
      const stray = listen('10.213.0.1', 2222);
      procs.push(stray);
      await up(stray);
      const bad = run('443,8080');
      expect(bad.status).toBe(1);
      expect(bad.stderr).toContain('tcp 10.213.0.1:2222');
      expect(bad.stderr).not.toContain('9999');
    } finally {
      for (const p of procs) p.kill();
    }
  }, 20_000);
});

describe('shellcheck', () => {
  it('finds nothing in the kit scripts', () => {
    requireHere(missingCommandsReason(['shellcheck']), 'shellcheck of the instance kit');
    const r = spawnSync(
      'shellcheck',
      [join(kit.dir, 'ekslink-install'), join(kit.dir, 'ekslink-image-checks')],
      {
        encoding: 'utf8',
      },
    );
    expect(r.stdout).toBe('');
    expect(r.status).toBe(0);
  });
});

describe('fleet user data per image kind', () => {
  let baked: string;
  let stock: string;
  let stockTemplate: Template;
  beforeAll(() => {
    const stack = (id: string, kind?: 'al2023') =>
      Template.fromStack(
        new ProxyFleetStack(new App(), id, {
          ...fleetProps(kind !== undefined ? { amiKind: kind } : {}),
          deploymentName: 't',
        }),
      );
    baked = userDataOf(stack('Baked'));
    stockTemplate = stack('Stock', 'al2023');
    stock = userDataOf(stockTemplate);
  });

  it('refuses a fleet without a pinned AMI, or with an unknown kind, naming the prop and the fix', () => {
    const synth = (o: Partial<ReturnType<typeof fleetProps>>) => () =>
      new ProxyFleetStack(new App(), 'Bad', { ...fleetProps(o), deploymentName: 't' });
    expect(synth({ amiId: undefined as unknown as string })).toThrow(
      /props\.amiId must pin an AMI id \(or give amiParameterName\): an ekslink image from the image pipeline .* \(got undefined\); e\.g\. amiId: "ami-0123456789abcdef0"/,
    );
    expect(synth({ amiId: 'latest' })).toThrow(/props\.amiId must pin an AMI id.*\(got "latest"\)/);
    expect(synth({ amiKind: 'ubuntu' as 'al2023' })).toThrow(
      /props\.amiKind must be "ekslink" \(baked by the image pipeline\) or "al2023" \(stock image, installed at boot\) \(got "ubuntu"\)/,
    );
  });

  it('looks the pipeline parameter up at synth and records the literal id; refuses it together with amiId', () => {
    const parameterName = '/ekslink/t/proxy-ami/arm64';
    const key = `ssm:account=111111111111:parameterName=${parameterName}:region=us-east-1`;
    const env = { account: '111111111111', region: 'us-east-1' };
    const { amiId: _, ...props } = fleetProps({ amiParameterName: parameterName });
    // GIVEN the value a `cdk synth` with credentials recorded in cdk.context.json
    const app = new App({ context: { [key]: 'ami-0aaaabbbbccccdddd' } });
    const t = Template.fromStack(new ProxyFleetStack(app, 'Lookup', { ...props, env, deploymentName: 't' }));
    t.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({ ImageId: 'ami-0aaaabbbbccccdddd' }),
    });
    expect(t.findParameters('*', { Type: 'AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>' })).toEqual({});
    // WHEN nothing is recorded yet THEN synth asks for the lookup (the CLI does it, or fails with --no-lookups)
    const fresh = new App();
    new ProxyFleetStack(fresh, 'Lookup', { ...props, env, deploymentName: 't' });
    expect(fresh.synth().manifest.missing?.map((m) => m.key)).toEqual([key]);
    expect(
      () =>
        new ProxyFleetStack(new App(), 'Both', {
          ...fleetProps({ amiParameterName: parameterName }),
          env,
          deploymentName: 't',
        }),
    ).toThrow(/props\.amiParameterName must not be given with amiId \(ami-0e1a2b3c4d5e6f708\)/);
  });

  it('with a baked image only writes config and starts the unit: no package install, no download, no account', () => {
    for (const forbidden of [
      /\bdnf\b/,
      /\byum\b/,
      /\brpm\b/,
      /aws s3 cp/,
      /useradd|groupadd/,
      /ekslink-install bake/,
    ]) {
      expect(baked).not.toMatch(forbidden);
    }
    expect(baked).toContain("cat > /etc/ekslink/proxy.yaml <<'");
    expect(baked).toContain('/usr/local/sbin/ekslink-install start');
  });

  it('with a stock AL2023 image bakes at boot with the same script, from the kit object the role may read', () => {
    expect(stock.indexOf('bash /tmp/ekslink-kit/ekslink-install bake')).toBeGreaterThan(0);
    expect(stock.indexOf('bash /tmp/ekslink-kit/ekslink-install bake')).toBeLessThan(
      stock.indexOf('/usr/local/sbin/ekslink-install start'),
    );
    const get = inlineStatements(stockTemplate).find((s) => s.Action === 's3:GetObject')!;
    const key = /\/([0-9a-f]{64}\.zip)$/.exec(get.Resource as string)![1]!;
    expect(stock).toContain(`/${key}" /tmp/ekslink-kit.zip`);
    // Everything after the bake is the baked image's user data.
    const tail = (u: string) => u.slice(u.indexOf("cat > /etc/ekslink/proxy.yaml <<'"));
    expect(tail(stock)).toBe(tail(baked).replaceAll('Baked', 'Stock'));
  });
});
