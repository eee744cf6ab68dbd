/**
 * Packaging checks. There is no Docker engine or hadolint here (hadolint is in neither
 * Debian nor npm as a maintained package), so the Dockerfile's properties are checked by
 * parsing it, its build stage is replayed (same build context per .dockerignore, same
 * command) and must produce byte-for-byte the bundle `npm run build` produces, and its
 * runtime stage is replayed (the bundle alone, no node_modules) including the HEALTHCHECK
 * command. The systemd unit goes through `systemd-analyze verify`.
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseProxyConfig } from '../../proxy/config/schema.js';
import { missingCommandsReason, requireHere } from '../system-tools.js';
import { BUNDLE, NODE, ROOT } from './lifecycle-harness.js';
import { PROXY_NODE_FLAGS } from '../../common/node-flags.js';

const work = mkdtempSync(join(tmpdir(), 'ekslink-pkg-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Instruction {
  readonly op: string;
  readonly args: string;
}
interface Stage {
  readonly from: string;
  readonly name?: string;
  readonly instructions: Instruction[];
}

function parseDockerfile(text: string): { args: Map<string, string>; stages: Stage[] } {
  const logical = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const args = new Map<string, string>();
  const stages: Stage[] = [];
  for (const line of logical) {
    const m = /^(\w+)\s+(.*)$/.exec(line);
    if (!m) throw new Error(`unparsable Dockerfile line: ${line}`);
    const op = (m[1] as string).toUpperCase();
    const rest = m[2] as string;
    if (op === 'FROM') {
      const [image, as, name] = rest.split(/\s+/);
      const resolved = (image as string).replace(/^\$\{(\w+)\}$/, (_, k: string) => args.get(k) ?? '');
      stages.push({ from: resolved, ...(as?.toUpperCase() === 'AS' ? { name } : {}), instructions: [] });
    } else if (stages.length === 0 && op === 'ARG') {
      const [k, v] = rest.split('=');
      args.set(k as string, v ?? '');
    } else {
      stages.at(-1)?.instructions.push({ op, args: rest });
    }
  }
  return { args, stages };
}

const dockerfile = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
const build = dockerfile.stages.find((s) => s.name === 'build') as Stage;
const runtime = dockerfile.stages.at(-1) as Stage;
const all = (s: Stage, op: string) => s.instructions.filter((i) => i.op === op);
const one = (s: Stage, op: string) => {
  const found = all(s, op);
  expect(found, `exactly one ${op} in stage ${s.name}`).toHaveLength(1);
  return found[0] as Instruction;
};
const execForm = (i: Instruction) => JSON.parse(i.args.replace(/^CMD\s+/, '')) as string[];

const DIGEST = /@sha256:[0-9a-f]{64}$/;
let replayedDist: string | undefined;
/** Where the distroless Node image keeps node (it is not on its PATH). */
const DISTROLESS_NODE = '/nodejs/bin/node';

describe('Dockerfile', () => {
  it('is multi-stage on Node 24, each base pinned by digest; the runtime is distroless and installs nothing', () => {
    expect(dockerfile.stages.length).toBeGreaterThanOrEqual(2);
    for (const s of dockerfile.stages) expect(s.from, s.name).toMatch(DIGEST);
    expect(build.from).toMatch(/^node:24(\.\d+){0,2}-[a-z]+-slim@/);
    // No shell, no npm or yarn, no package manager: only Node.js 24 and its libraries.
    expect(runtime.from).toMatch(/^gcr\.io\/distroless\/nodejs24-debian12:nonroot@sha256:/);
    expect(runtime.name).toBe('runtime');
    expect(all(runtime, 'RUN')).toEqual([]);
    expect(all(runtime, 'ADD')).toEqual([]);
    const copies = all(runtime, 'COPY').map((c) => c.args);
    expect(copies.filter((c) => c.includes('--from=build'))).toEqual([
      '--from=build --chown=root:root /src/dist /app/dist',
    ]);
    expect(copies.every((c) => !c.includes('node_modules'))).toBe(true);
    expect(
      all(runtime, 'ENV')
        .map((e) => e.args)
        .join(' '),
    ).toMatch(/NODE_ENV=production/);
  });

  it('runs as a non-root uid, exec-form entrypoint on the distroless node, SIGTERM, a HEALTHCHECK on /healthz', () => {
    const user = one(runtime, 'USER').args;
    expect(user).toBe('65532:65532');
    const entry = JSON.parse(one(runtime, 'ENTRYPOINT').args) as string[];
    expect(entry).toEqual([DISTROLESS_NODE, ...PROXY_NODE_FLAGS, '/app/dist/ekslink.mjs', 'proxy']);
    expect(JSON.parse(one(runtime, 'CMD').args)).toEqual(['--config', '/etc/ekslink/proxy.yaml']);
    expect(one(runtime, 'STOPSIGNAL').args).toBe('SIGTERM');
    const hc = one(runtime, 'HEALTHCHECK').args;
    expect(hc).toMatch(/--interval=\d+s/);
    expect(hc).toMatch(/--timeout=\d+s/);
    expect(execForm({ op: 'HEALTHCHECK', args: hc.slice(hc.indexOf('CMD ')) }).join(' ')).toContain(
      '/healthz',
    );
  });

  it('listens on unprivileged ports only; the container example config uses them and is valid', () => {
    const exposed = one(runtime, 'EXPOSE')
      .args.split(/\s+/)
      .map((p) => Number(p.replace('/tcp', '')));
    for (const p of exposed) expect(p).toBeGreaterThanOrEqual(1024);
    const example = join(ROOT, 'packaging/container/proxy.yaml');
    expect(all(runtime, 'COPY').map((c) => c.args)).toContain(
      '--chown=root:root packaging/container/proxy.yaml /etc/ekslink/proxy.example.yaml',
    );
    const cfg = parseProxyConfig(parseYaml(readFileSync(example, 'utf8')));
    expect(exposed).toEqual([cfg.listen.port, cfg.health.port]);
    expect(cfg.listen.port).toBe(8443);
    const check = spawnSync(NODE, [BUNDLE, 'proxy', '--check-config', example], { encoding: 'utf8' });
    expect(check.status, check.stderr).toBe(0);
    // The documented mapping to 443.
    expect(readFileSync(join(ROOT, 'docs/operations.md'), 'utf8')).toContain('-p 443:8443');
  });

  it('carries the OCI labels', () => {
    const labels = all(runtime, 'LABEL')
      .map((l) => l.args)
      .join(' ');
    for (const key of ['title', 'description', 'version', 'revision', 'licenses', 'base.name']) {
      expect(labels).toMatch(new RegExp(`org\\.opencontainers\\.image\\.${key.replace('.', '\\.')}="[^"]+"`));
    }
    expect(labels).toContain('org.opencontainers.image.licenses="Apache-2.0"');
  });

  // hadolint is neither in Debian nor on npm (only wrappers that download a binary), so the
  // rules of it that apply here are checked on the parsed file.
  it('passes the hadolint rules that apply (DL3006/3007 pinned tags, DL3020 no ADD, DL3025 JSON CMD, DL3002 non-root, DL3000 absolute WORKDIR)', () => {
    for (const s of dockerfile.stages) {
      expect(s.from).not.toMatch(/:latest(@|$)/);
      expect(all(s, 'ADD')).toEqual([]);
      for (const w of all(s, 'WORKDIR')) expect(w.args.startsWith('/')).toBe(true);
      for (const r of all(s, 'RUN')) expect(r.args).not.toMatch(/\b(sudo|apt-get upgrade|curl .*\| *sh)\b/);
    }
    for (const op of ['ENTRYPOINT', 'CMD']) expect(() => JSON.parse(one(runtime, op).args)).not.toThrow();
    expect(all(runtime, 'USER').at(-1)!.args).not.toMatch(/^(root|0)(:|$)/);
  });

  it('builds with the lockfile and the same command as `npm run build`', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      scripts: { build: string };
    };
    expect(pkg.scripts.build).toBe('node scripts/build.mjs');
    const runs = all(build, 'RUN').map((r) => r.args);
    expect(runs.some((r) => /^npm ci\b/.test(r))).toBe(true);
    expect(runs.some((r) => r.startsWith(pkg.scripts.build))).toBe(true);
    expect(one(build, 'WORKDIR').args).toBe('/src');
    // The bundle the tests spawn is that command's output, at the path the image runs.
    expect(relative(ROOT, BUNDLE)).toBe('dist/ekslink.mjs');
  });

  it('build stage replayed on the .dockerignore context gives the same bytes as `npm run build`', () => {
    // One snapshot of the tree, so both builds see the same sources.
    const checkout = join(work, 'checkout');
    const skip = new Set(['node_modules', '.git', 'dist', 'cdk.out', 'coverage']);
    cpSync(ROOT, checkout, {
      recursive: true,
      filter: (src) => !skip.has(relative(ROOT, src).split('/')[0] as string),
    });
    const context = join(work, 'context');
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    const isIgnored = (rel: string) =>
      ignored.some((p) =>
        p.startsWith('*.') ? rel.endsWith(p.slice(1)) : rel === p || rel.startsWith(`${p}/`),
      );
    cpSync(checkout, context, { recursive: true, filter: (src) => !isIgnored(relative(checkout, src)) });
    expect(existsSync(join(context, 'test'))).toBe(false);
    for (const dir of [checkout, context]) {
      symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
      const r = spawnSync(NODE, ['scripts/build.mjs'], { cwd: dir, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
    }
    const files = (d: string) => readdirSync(d).sort();
    const a = join(checkout, 'dist');
    const b = join(context, 'dist');
    expect(files(b)).toEqual(files(a));
    for (const f of files(a)) expect(readFileSync(join(b, f)).equals(readFileSync(join(a, f))), f).toBe(true);

    // THEN the stage's source-map step, replayed as written, drops the maps unless asked
    const prune = all(build, 'RUN').find((r) => r.args.includes('SOURCEMAPS'))!.args;
    expect(all(build, 'ARG').map((a) => a.args)).toContain('SOURCEMAPS=false');
    const kept = join(work, 'kept');
    cpSync(context, kept, { recursive: true, filter: (src) => !src.endsWith('node_modules') });
    for (const [dir, value] of [
      [context, 'false'],
      [kept, 'true'],
    ] as const) {
      const r = spawnSync('sh', ['-c', prune], { cwd: dir, env: { SOURCEMAPS: value }, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
    }
    expect(files(b).filter((f) => f.endsWith('.map'))).toEqual([]);
    expect(files(b)).toEqual(files(a).filter((f) => !f.endsWith('.map')));
    expect(files(join(kept, 'dist'))).toEqual(files(a));
    replayedDist = b;
  });

  it('runtime stage replayed: the bundle alone (no node_modules) checks configs, serves, passes its HEALTHCHECK, stops on SIGTERM', async () => {
    const app = join(work, 'image', 'app');
    mkdirSync(app, { recursive: true });
    // The build stage's output as the runtime stage copies it (replayed above: no source maps).
    cpSync(replayedDist ?? join(ROOT, 'dist'), join(app, 'dist'), { recursive: true });
    for (let d = app; d !== dirname(d); d = dirname(d))
      expect(existsSync(join(d, 'node_modules'))).toBe(false);
    const entry = join(app, 'dist/ekslink.mjs');
    const env = { PATH: process.env.PATH ?? '', NODE_ENV: 'production', HOME: join(work, 'no-home') };

    const check = spawnSync(
      NODE,
      [entry, 'proxy', '--check-config', join(ROOT, 'packaging/ekslink-proxy.example.yaml')],
      {
        cwd: app,
        env,
        encoding: 'utf8',
      },
    );
    expect(check.status, check.stderr).toBe(0);

    const configPath = join(work, 'image', 'proxy.yaml');
    writeFileSync(
      configPath,
      [
        'listen: { host: 127.0.0.1, port: 0 }',
        'routes: [{ sni: img.gr7.us-east-1.eks.amazonaws.com }]',
        'allowedUpstreamCidrs: [127.0.215.0/24]',
        "dns: { servers: ['127.0.0.1:9'], timeoutMs: 100, tries: 1 }",
        'health: { host: 127.0.0.1, port: 0 }',
        'drain: { graceSec: 0, deadlineSec: 1 }',
        'workers: 1',
      ].join('\n'),
    );
    const before = readdirSync(app).sort();
    const child = spawn(NODE, [entry, 'proxy', '--config', configPath], {
      cwd: app,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
    while (!out.includes('"event":"listening"')) await new Promise((r) => setTimeout(r, 20));
    const listening = JSON.parse(
      out.split('\n').find((l) => l.includes('"event":"listening"')) as string,
    ) as {
      healthPort: number;
    };
    const hcArgs = one(runtime, 'HEALTHCHECK').args;
    const [cmd, ...args] = execForm({ op: 'HEALTHCHECK', args: hcArgs.slice(hcArgs.indexOf('CMD ')) });
    // Distroless keeps node at /nodejs/bin/node; here the same Node 24 runs the same arguments.
    expect(cmd).toBe(DISTROLESS_NODE);
    const hc = spawnSync(NODE, args, { env: { ...env, EKSLINK_HEALTH_PORT: String(listening.healthPort) } });
    expect(hc.status).toBe(0);
    const hcDown = spawnSync(NODE, args, { env: { ...env, EKSLINK_HEALTH_PORT: '9' } });
    expect(hcDown.status).toBe(1);
    process.kill(child.pid as number, 'SIGTERM');
    expect(await exited).toBe(0);
    // It wrote nothing next to itself and had no home directory: fine on a read-only root.
    expect(readdirSync(app).sort()).toEqual(before);
    expect(existsSync(env.HOME)).toBe(false);
  });

  it('.dockerignore keeps local builds, dependencies and VCS data out of the context', () => {
    const lines = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n');
    for (const p of ['.git', 'node_modules', 'dist', 'cdk.out']) expect(lines).toContain(p);
  });
});

describe('example config', () => {
  it('passes --check-config; a broken copy fails with exit 2 and every problem listed', () => {
    const example = join(ROOT, 'packaging/ekslink-proxy.example.yaml');
    const ok = spawnSync(NODE, [BUNDLE, 'proxy', '--check-config', example], { encoding: 'utf8' });
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/: valid\n/);
    expect(ok.stdout).toContain('prod-cluster');

    const broken = join(work, 'broken.yaml');
    writeFileSync(
      broken,
      readFileSync(example, 'utf8')
        .replace('port: 443', 'port: 70000')
        .replace('- 10.0.0.0/16', '- 10.0.0.0/33')
        .replace(/^ {2}mode: required$/m, '  mode: sometimes'),
    );
    const bad = spawnSync(NODE, [BUNDLE, 'proxy', '--check-config', broken], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^error EKL_CONFIG_INVALID: .*\(3 problems\)/);
    for (const key of ['listen.port', 'allowedUpstreamCidrs[0]', 'proxyProtocol.mode']) {
      expect(bad.stderr).toContain(`- ${key}: `);
    }
  });

  it('parses to the documented production values', () => {
    const cfg = parseProxyConfig(
      parseYaml(readFileSync(join(ROOT, 'packaging/ekslink-proxy.example.yaml'), 'utf8')),
    );
    expect(cfg.listen.port).toBe(443);
    expect(cfg.health.port).toBe(8080);
    expect(cfg.proxyProtocol.mode).toBe('required');
    expect(cfg.drain.graceSec + cfg.drain.deadlineSec).toBeLessThan(unitTimeoutStopSec());
  });
});

function unitText(): string {
  return readFileSync(join(ROOT, 'packaging/systemd/ekslink-proxy.service'), 'utf8');
}
function unitSetting(key: string): string[] {
  return unitText()
    .split('\n')
    .filter((l) => l.startsWith(`${key}=`))
    .map((l) => l.slice(key.length + 1));
}
function unitTimeoutStopSec(): number {
  return Number(unitSetting('TimeoutStopSec')[0]);
}

describe('systemd unit', () => {
  it('is hardened: no new privileges, strict FS, CAP_NET_BIND_SERVICE only, restart on failure, reload = SIGHUP', () => {
    const expected: Record<string, string> = {
      NoNewPrivileges: 'yes',
      ProtectSystem: 'strict',
      AmbientCapabilities: 'CAP_NET_BIND_SERVICE',
      CapabilityBoundingSet: 'CAP_NET_BIND_SERVICE',
      Restart: 'on-failure',
      KillSignal: 'SIGTERM',
      KillMode: 'mixed',
      ExecReload: '/bin/kill -HUP $MAINPID',
      User: 'ekslink',
    };
    for (const [k, v] of Object.entries(expected)) expect(unitSetting(k), k).toEqual([v]);
    expect(unitSetting('ExecStart')).toEqual([
      `/usr/bin/node ${PROXY_NODE_FLAGS.join(' ')} /opt/ekslink/dist/ekslink.mjs proxy --config /etc/ekslink/proxy.yaml`,
    ]);
    expect(unitSetting('ExecStartPre')[0]).toContain('proxy --check-config /etc/ekslink/proxy.yaml');
    expect(unitTimeoutStopSec()).toBeGreaterThan(15 + 300); // default grace + deadline
  });

  it('passes systemd-analyze verify, which does flag a broken copy', () => {
    requireHere(missingCommandsReason(['systemd-analyze']), 'systemd-analyze verify');
    const good = spawnSync(
      'systemd-analyze',
      ['verify', join(ROOT, 'packaging/systemd/ekslink-proxy.service')],
      {
        encoding: 'utf8',
      },
    );
    expect(good.status, good.stderr).toBe(0);
    expect(good.stderr.trim()).toBe('');
    const dir = join(work, 'unit');
    mkdirSync(dir);
    const broken = join(dir, 'ekslink-proxy.service');
    writeFileSync(
      broken,
      unitText()
        .replace('ProtectSystem=strict', 'ProtectSystem=sorta')
        .replace('NoNewPrivileges', 'NoNewPrivilegez'),
    );
    const bad = spawnSync('systemd-analyze', ['verify', broken], { encoding: 'utf8' });
    expect(bad.stderr).toMatch(/NoNewPrivilegez/);
    expect(bad.stderr).toMatch(/protect system value.*sorta/);
  });
});
