/**
 * Reading the packaging unit: where it runs the bundle, as which user, and the refusals
 * that keep the fleet from installing the bundle where the unit does not look.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_SYSTEMD_UNIT_PATH, readProxyUnit } from '../../infra/lib/artifacts.js';

const dir = mkdtempSync(join(tmpdir(), 'ekslink-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function unit(service: string): string {
  const path = join(dir, `u${Math.random().toString(16).slice(2)}.service`);
  writeFileSync(path, `[Unit]\nDescription=x\n\n[Service]\n${service}\n`);
  return path;
}

describe('readProxyUnit', () => {
  it('reads the real packaging unit: bundle in /opt/ekslink/dist, user and group ekslink', () => {
    // WHEN the unit shipped in packaging/ is read
    const u = readProxyUnit(DEFAULT_SYSTEMD_UNIT_PATH);
    // THEN the fleet installs the bundle where ExecStart runs it and creates its account
    expect(u).toMatchObject({ bundleInstallDir: '/opt/ekslink/dist', user: 'ekslink', group: 'ekslink' });
    expect(u.text).toContain('NoNewPrivileges=yes');
  });

  it('follows ExecStart to another install directory and skips DynamicUser accounts', () => {
    const u = readProxyUnit(
      unit(
        'DynamicUser=yes\nUser=proxy\nExecStart=/usr/bin/node-24 /srv/ekslink/ekslink.mjs proxy --config /etc/ekslink/proxy.yaml',
      ),
    );
    expect(u.bundleInstallDir).toBe('/srv/ekslink');
    expect(u.user).toBeUndefined();
  });

  it.each([
    ['no ExecStart', 'User=ekslink', /needs exactly one ExecStart= line \(found 0\)/],
    [
      'a relative bundle path',
      'ExecStart=/usr/bin/node dist/ekslink.mjs proxy --config /etc/ekslink/proxy.yaml',
      /does not run an absolute path ending in \/ekslink\.mjs/,
    ],
    [
      'another config path',
      'ExecStart=/usr/bin/node /opt/ekslink/dist/ekslink.mjs proxy --config /etc/proxy.yaml',
      /does not read \/etc\/ekslink\/proxy\.yaml, the file the fleet writes/,
    ],
  ])('refuses a unit with %s', (_, service, message) => {
    expect(() => readProxyUnit(unit(service))).toThrow(message);
  });
});
