/**
 * scripts/system-deps.sh, the check `npm test` and .ci/run start with: on a machine that
 * cannot install (here: --no-install, and a PATH that lacks most tools), it must stop at
 * once, naming each missing tool and how to get it. No test is skipped for a missing tool:
 * the helpers in test/system-tools.ts turn it into a failure that says why.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CANNOT_RUN, missingCommandsReason, onPath, requireHere } from '../system-tools.js';

const SCRIPT = join(process.cwd(), 'scripts/system-deps.sh');
const BASH = '/bin/bash';

function run(args: string[], env: NodeJS.ProcessEnv) {
  const started = Date.now();
  const res = spawnSync(BASH, [SCRIPT, ...args], { env, encoding: 'utf8', timeout: 60_000 });
  return { code: res.status, stdout: res.stdout, stderr: res.stderr, ms: Date.now() - started };
}

/** A PATH holding only the named commands (symlinks to this machine's). */
function pathWith(commands: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'ekslink-path-'));
  for (const name of commands) {
    const found = spawnSync(BASH, ['-c', `command -v ${name}`], { encoding: 'utf8' }).stdout.trim();
    if (found) symlinkSync(found, join(dir, name));
  }
  return dir;
}

describe('scripts/system-deps.sh', () => {
  it('cannot install: exits 1 within a minute naming each missing tool and how to install it', () => {
    const res = run(['--no-install'], { PATH: pathWith(['ip', 'openssl']), HOME: tmpdir() });
    expect(res.code).toBe(1);
    expect(res.ms).toBeLessThan(60_000);
    expect(res.stdout).toBe('');
    for (const tool of [
      'wg (Debian package wireguard-tools)',
      'wireguard-go (Debian package wireguard-go)',
      'nft (Debian package nftables)',
      'systemd-analyze (Debian package systemd)',
      'kubectl (',
      'python3 with moto',
      "python3 -m pip install 'moto[server]'",
    ]) {
      expect(res.stderr).toContain(tool);
    }
    expect(res.stderr).not.toContain('iproute2');
    expect(res.stderr).toContain('(--no-install: nothing was installed)');
    expect(res.stderr).toContain(
      'apt-get update && apt-get install -y --no-install-recommends wireguard-tools wireguard-go nftables systemd',
    );
  });

  it('finds nothing missing on this machine (npm test ran it first) and exits 0', () => {
    const res = run(['--no-install'], process.env);
    expect({ code: res.code, stderr: res.stderr }).toEqual({ code: 0, stderr: '' });
  });

  it('refuses an unknown argument with exit 2', () => {
    const res = run(['--instal'], process.env);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('unknown argument "--instal"');
  });
});

describe('test/system-tools.ts', () => {
  it('names a missing command, and a test that needs it fails (never skips) saying so', () => {
    expect(onPath('sh')).toBe(true);
    expect(missingCommandsReason(['sh'])).toBeUndefined();
    const reason = missingCommandsReason(['sh', 'ekslink-no-such-tool']);
    expect(reason).toBe('not on PATH: ekslink-no-such-tool');
    expect(() => requireHere(reason, 'the example check')).toThrow(
      `the example check ${CANNOT_RUN}: not on PATH: ekslink-no-such-tool. Run \`bash scripts/system-deps.sh\``,
    );
  });
});
