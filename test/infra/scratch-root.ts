/**
 * A proxy image as a directory: the instance kit staged by the same function synth uses,
 * baked with `ekslink-install bake --root` into a scratch root (packages recorded, not
 * installed). The install test inspects it; the end-to-end test runs the unit it holds.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_BUNDLE_DIR, DEFAULT_SYSTEMD_UNIT_PATH } from '../../infra/lib/artifacts.js';
import { INSTALL_SCRIPT, stageInstanceKit, type StagedKit } from '../../infra/lib/instance-kit.js';

/** A root with just enough of /etc for useradd --prefix: root's entries only. */
export function scratchRoot(dir: string): string {
  mkdirSync(join(dir, 'etc'), { recursive: true });
  writeFileSync(join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\n');
  writeFileSync(join(dir, 'etc/group'), 'root:x:0:\n');
  writeFileSync(join(dir, 'etc/shadow'), 'root:*:19000:0:99999:7:::\n', { mode: 0o600 });
  writeFileSync(join(dir, 'etc/gshadow'), 'root:*::\n', { mode: 0o600 });
  return dir;
}

/** Run the kit's install script (`bake` or `start`, plus options) against `root`. */
export function runInstall(kit: StagedKit, args: readonly string[], root: string) {
  return spawnSync('bash', [join(kit.dir, INSTALL_SCRIPT), ...args, '--root', root], { encoding: 'utf8' });
}

export interface BakedRoot {
  readonly kit: StagedKit;
  readonly root: string;
  readonly bake: ReturnType<typeof runInstall>;
}

/** Stage the kit and bake it into a new scratch root at `dir`, as the pipeline bakes the AMI. */
export function bakeScratchRoot(dir: string, o: { bundleDir?: string; unitPath?: string } = {}): BakedRoot {
  const kit = stageInstanceKit({
    bundleDir: o.bundleDir ?? DEFAULT_BUNDLE_DIR,
    unitPath: o.unitPath ?? DEFAULT_SYSTEMD_UNIT_PATH,
  });
  const root = scratchRoot(dir);
  return { kit, root, bake: runInstall(kit, ['bake'], root) };
}
