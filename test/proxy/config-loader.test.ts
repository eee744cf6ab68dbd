/**
 * How a serving proxy reads its config (proxy/process/config-loader.ts): in a child, the
 * bundle's `ekslink proxy --print-config FILE --output json`. The child's answer must be the
 * config the in-process load gives, its refusals the same ConfigError with the same
 * problems; a child that answers nothing usable is a ConfigError that names it. And the
 * point of it all: the serving process never loads the schema library, the YAML parser or
 * the command-line parser (read from the modules it loads, mapped to packages through the
 * bundle's source maps).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../common/errors.js';
import { loadConfigInChild, loadConfigInProcess } from '../../proxy/process/config-loader.js';
import { BUNDLE, NODE, ProxyLog, ROOT, requireBundle } from './lifecycle-harness.js';

const EKS_HOST = '0123456789abcdef0123456789abcdef.gr7.us-east-1.eks.amazonaws.com';
let dir = '';
const file = (name: string, text: string): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

const VALID = `listen: { host: 127.0.0.1, port: 0 }
health: { host: 127.0.0.1, port: 0 }
routes:
  - sni: ${EKS_HOST}
allowedUpstreamCidrs: [10.0.0.0/16]
dns: { servers: ["127.0.0.1:53"], timeoutMs: 300 }
`;
const INVALID = `routes:
  - sni: ${EKS_HOST}
allowedUpstreamCidrs: 10.0.0.0/16
workers: many
`;

beforeAll(() => {
  requireBundle();
  dir = mkdtempSync(join(tmpdir(), 'ekslink-config-loader-'));
});

async function refusal(load: Promise<unknown>): Promise<ConfigError> {
  const err = await load.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConfigError);
  return err as ConfigError;
}

describe('the config child', () => {
  it('answers the config the in-process load gives, every default filled in', async () => {
    const path = file('valid.yaml', VALID);
    const inChild = await loadConfigInChild(BUNDLE, path);
    expect(inChild).toEqual(await loadConfigInProcess(path));
    expect(inChild.dns.timeoutMs).toBe(300);
    expect(inChild.routes[0]!.upstreamHost).toBe(EKS_HOST);
    expect(inChild.connections.max).toBeGreaterThan(0);
  });

  it('refuses a bad file with the ConfigError and problems of the in-process load', async () => {
    const path = file('invalid.yaml', INVALID);
    const inChild = await refusal(loadConfigInChild(BUNDLE, path));
    const inProcess = await refusal(loadConfigInProcess(path));
    expect(inChild.code).toBe('EKL_CONFIG_INVALID');
    expect(inChild.message).toBe(inProcess.message);
    expect(inChild.problems).toEqual(inProcess.problems);
    expect(inChild.problems.length).toBe(2);
  });

  it('names the child when it answers nothing usable', async () => {
    const notACli = file('not-a-cli.mjs', "process.stdout.write('hello'); process.exit(3);\n");
    const err = await refusal(loadConfigInChild(notACli, file('v2.yaml', VALID)));
    expect(err.message).toContain(`${notACli} proxy --print-config`);
    expect(err.message).toContain('v2.yaml');
  });
});

/** Serves VALID with `--import hook` until the listening line, then stops it. */
async function serveUntilListening(hook: string, settleMs = 0): Promise<void> {
  const child = spawn(
    NODE,
    ['--import', pathToFileURL(hook).href, BUNDLE, 'proxy', '--config', file('serve.yaml', VALID)],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '' },
    },
  );
  const log = new ProxyLog(child);
  const exited = new Promise((r) => child.once('close', r));
  try {
    await log.waitFor((e) => e.event === 'listening', 20_000);
    await new Promise((r) => setTimeout(r, settleMs));
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
}

describe('the serving process', () => {
  it('loads no schema library, YAML parser or command-line parser', async () => {
    const record = join(dir, 'loaded.txt');
    const hook = file(
      'record-loads.mjs',
      `import { registerHooks } from 'node:module';
import { appendFileSync } from 'node:fs';
registerHooks({ load(url, context, next) { appendFileSync(${JSON.stringify(record)}, url + '\\n'); return next(url, context); } });
`,
    );
    await serveUntilListening(hook);
    const chunks = [
      ...new Set(
        readFileSync(record, 'utf8')
          .split('\n')
          .filter((u) => u.startsWith('file:') && u.includes('/dist/')),
      ),
    ];
    expect(chunks.length).toBeGreaterThan(2);
    const packages = new Set<string>();
    for (const url of chunks) {
      const map = JSON.parse(readFileSync(new URL(`${url}.map`), 'utf8')) as { sources: string[] };
      for (const s of map.sources) {
        const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(s);
        if (m) packages.add(m[1]!);
      }
    }
    expect([...packages]).toEqual(expect.arrayContaining(['pino', 'prom-client']));
    for (const heavy of ['zod', 'yaml', 'commander']) expect(packages).not.toContain(heavy);
  });

  // scripts/bundle/lean-serving-process.mjs: Node's ES module view of a built-in reads every
  // export (node:http's WebSocket getter loads Node's own undici, 12 MiB), and prom-client's
  // Pushgateway pulls in TLS, HTTPS and zlib.
  it('loads none of the Node built-ins it never uses', async () => {
    const record = join(dir, 'builtins.json');
    const hook = file(
      'record-builtins.mjs',
      // Written aside, then renamed: the kill below may land in the middle of a write.
      `import { renameSync, writeFileSync } from 'node:fs';
setInterval(() => {
  writeFileSync(${JSON.stringify(record + '.tmp')}, JSON.stringify(process.moduleLoadList));
  renameSync(${JSON.stringify(record + '.tmp')}, ${JSON.stringify(record)});
}, 100).unref();
`,
    );
    await serveUntilListening(hook, 500);
    const loaded = new Set(
      (JSON.parse(readFileSync(record, 'utf8')) as string[])
        .filter((m) => m.startsWith('NativeModule '))
        .map((m) => m.slice('NativeModule '.length)),
    );
    // What it does use, read the same way: the health server's HTTP, the data path's net.
    expect([...loaded]).toEqual(expect.arrayContaining(['http', 'net', 'dgram']));
    for (const unused of ['internal/deps/undici/undici', 'tls', 'https', 'zlib']) {
      expect(loaded, unused).not.toContain(unused);
    }
  });
});
