/**
 * `ekslink provision apply --outputs-file` against the moto world, in process through the
 * CLI's own runner: the outputs file the stacks, the WireGuard render and the kubeconfig
 * read. Used by the end-to-end test and to regenerate infra/examples/provision-outputs.json
 * (`npx tsx test/e2e/provision-outputs.ts infra/examples/provision-outputs.json`).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { runProvision } from '../../provisioner/command.js';
import type { GcpToAwsConfigInput } from '../../provisioner/topologies/gcp-to-aws/config.js';
import { startWorld, type World } from '../provisioner/world.js';

/** Apply `deployment` in `world` and write its outputs file to `outputsPath`; stdout lines returned. */
export async function applyWithOutputsFile(
  world: World,
  deployment: string,
  outputsPath: string,
  patch?: (c: GcpToAwsConfigInput) => void,
): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'ekslink-apply-'));
  try {
    const configPath = join(dir, 'provision.yaml');
    writeFileSync(configPath, stringify(world.config(deployment, patch)));
    const lines: string[] = [];
    const code = await runProvision(
      'apply',
      { topology: 'gcp-to-aws', config: configPath, yes: true, output: 'json', outputsFile: outputsPath },
      {
        out: (line) => lines.push(line),
        interactive: false,
        confirm: () => Promise.reject(new Error('must not ask with --yes')),
        deps: { pollIntervalMs: 5 },
      },
    );
    if (code !== 0) throw new Error(`provision apply exited ${code}:\n${lines.join('\n')}`);
    return lines;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const target = process.argv[2];
  if (!target) throw new Error('usage: npx tsx test/e2e/provision-outputs.ts OUT.json');
  const world = await startWorld();
  try {
    await applyWithOutputsFile(world, 'example', resolve(target));
  } finally {
    await world.stop();
  }
}
