/**
 * One fleet instance, as the pinned image and the synthesized user data set it up: the
 * systemd unit is the one the image holds (the instance kit baked into a scratch root by
 * `ekslink-install bake`, as the image pipeline bakes the AMI), the proxy config and the
 * fleet's drop-in are the files user data writes (read from the template), and the proxy
 * runs the unit's own ExecStartPre and ExecStart command lines, with the instance's paths
 * mapped onto this machine (the bundle, node, the config file) and inside the instance's
 * network namespace. systemd itself is not run: its part (user, capabilities, stop timeout)
 * is checked by the infra tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { heredocFile } from '../infra/helpers.js';
import { NODE, ProxyLog, ROOT } from '../proxy/lifecycle-harness.js';
import { sh } from '../wireguard/netns-lab.js';

/** The files an instance runs the proxy with: the image's unit, and what user data writes. */
export interface InstanceFiles {
  /** From user data. */
  readonly proxyConfig: string;
  /** From the image (`imageRoot`): user data on a baked image writes no unit. */
  readonly unit: string;
  /** From user data: the fleet's drain timeout. */
  readonly dropIn: string;
}

const UNIT = '/etc/systemd/system/ekslink-proxy.service';

/** `userData` of the synthesized template, `imageRoot` the baked scratch root standing in for the AMI. */
export function instanceFiles(userData: string, imageRoot: string): InstanceFiles {
  if (userData.includes(`cat > ${UNIT} <<`)) {
    throw new Error(`user data writes ${UNIT}: on a baked image the unit comes with the image`);
  }
  return {
    proxyConfig: heredocFile(userData, '/etc/ekslink/proxy.yaml'),
    unit: readFileSync(join(imageRoot, UNIT), 'utf8'),
    dropIn: heredocFile(userData, `${UNIT}.d/10-ekslink-fleet.conf`),
  };
}

/** `Key=value` lines of a unit's [Service] section (repeated keys: every value). */
export function serviceDirectives(unit: string, key: string): string[] {
  return unit
    .split('\n')
    .filter((l) => l.startsWith(`${key}=`))
    .map((l) => l.slice(key.length + 1));
}

export class FleetInstance extends ProxyLog {
  private constructor(child: ChildProcess) {
    super(child);
  }

  /**
   * Write the config where the unit reads it (mapped into `dir`), run ExecStartPre (the
   * config check) and then ExecStart in namespace `ns`, and wait for the listening line.
   */
  static async start(files: InstanceFiles, dir: string, ns: string): Promise<FleetInstance> {
    const configPath = join(dir, 'proxy.yaml');
    writeFileSync(configPath, files.proxyConfig, { mode: 0o640 });
    const map = (command: string): string[] =>
      command
        .split(/\s+/)
        .filter(Boolean)
        .map((word) =>
          word
            .replace(/^\/usr\/bin\/node$/, NODE)
            .replace(/^\/opt\/ekslink\/dist\//, `${join(ROOT, 'dist')}/`)
            .replace(/^\/etc\/ekslink\/proxy\.yaml$/, configPath),
        );
    const env = Object.fromEntries(
      serviceDirectives(files.unit, 'Environment').map((kv) => kv.split('=', 2) as [string, string]),
    );
    for (const pre of serviceDirectives(files.unit, 'ExecStartPre')) {
      await sh('ip', ['netns', 'exec', ns, ...map(pre)], env);
    }
    const [start] = serviceDirectives(files.unit, 'ExecStart');
    if (start === undefined) throw new Error('the unit has no ExecStart');
    const argv = ['netns', 'exec', ns, ...map(start)];
    const child = spawn('ip', argv, {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '', ...env },
    });
    const instance = new FleetInstance(child);
    await Promise.race([
      instance.waitFor((e) => e.event === 'listening', 20_000),
      new Promise((_, reject) =>
        child.once('exit', (code) =>
          reject(new Error(`proxy exited (${code}) before listening: ${instance.stderr.join('')}`)),
        ),
      ),
    ]);
    return instance;
  }

  /** The proxy drains for grace + deadline (15 + 300 s): a test ends it with SIGKILL. */
  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const closed = new Promise((r) => this.child.once('close', r));
    this.child.kill('SIGKILL');
    await closed;
  }
}
