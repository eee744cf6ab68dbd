/**
 * scripts/bundle/lean-serving-process.mjs, the esbuild plugin of `npm run build`: on a fixture
 * package tree in a temp dir, Node built-ins imported as ES modules come out as require()
 * calls (so Node never reads every export of their namespace), prom-client's Pushgateway and
 * pino's thread-stream are replaced only when those packages import them, and the stand-ins
 * refuse to be used with an error that says why and what to do instead.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';
import { afterEach, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs build script, no types
import { leanServingProcess } from '../../scripts/bundle/lean-serving-process.mjs';

const require = createRequire(import.meta.url);
let dir = '';
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = '';
});

function tree(files: Record<string, string>): string {
  dir = mkdtempSync(join(tmpdir(), 'ekslink-lean-bundle-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

async function bundle(root: string): Promise<string> {
  const out = await build({
    entryPoints: [join(root, 'entry.mjs')],
    bundle: true,
    format: 'esm',
    platform: 'node',
    write: false,
    plugins: [leanServingProcess],
    logLevel: 'silent',
  });
  return out.outputFiles[0]!.text;
}

describe('the lean serving-process plugin', () => {
  it('turns ES module imports of Node built-ins into require() calls, and leaves node:module an import', async () => {
    const root = tree({
      'entry.mjs': `import { createServer } from 'node:http';
import * as tls from 'tls';
import { createRequire } from 'node:module';
export const f = () => [createServer, tls.connect, createRequire, import('node:zlib')];
`,
    });
    const text = await bundle(root);
    expect(text).toContain('require("node:http")');
    expect(text).toContain('require("tls")');
    expect(text).toContain('require("node:zlib")');
    expect(text).not.toMatch(/from\s*"node:http"/);
    expect(text).not.toMatch(/from\s*"tls"/);
    expect(text).toMatch(/import\s*\{\s*createRequire\s*\}\s*from\s*"node:module"/);
  });

  it("replaces prom-client's Pushgateway and pino's thread-stream, and nobody else's", async () => {
    const root = tree({
      'entry.mjs': `import prom from 'prom-client'; import pino from 'pino'; import other from 'other';
export default [prom, pino, other];
`,
      'node_modules/prom-client/package.json': '{"name":"prom-client","main":"index.js"}',
      'node_modules/prom-client/index.js': "module.exports = require('./lib/pushgateway');",
      'node_modules/prom-client/lib/pushgateway.js': "module.exports = 'REAL PUSHGATEWAY';",
      'node_modules/pino/package.json': '{"name":"pino","main":"pino.js"}',
      'node_modules/pino/pino.js': "module.exports = require('thread-stream');",
      'node_modules/thread-stream/package.json': '{"name":"thread-stream","main":"index.js"}',
      'node_modules/thread-stream/index.js': "module.exports = 'REAL THREAD-STREAM';",
      'node_modules/other/package.json': '{"name":"other","main":"index.js"}',
      'node_modules/other/index.js':
        "module.exports = [require('./lib/pushgateway'), require('thread-stream')];",
      'node_modules/other/lib/pushgateway.js': "module.exports = 'OTHER PUSHGATEWAY';",
    });
    const text = await bundle(root);
    expect(text).not.toContain("'REAL PUSHGATEWAY'");
    expect(text).toContain('OTHER PUSHGATEWAY');
    // thread-stream is bundled once, for `other`; pino gets the stand-in.
    expect(text).toContain('REAL THREAD-STREAM');
    expect(text).toContain("pino transports are not in ekslink's bundle");
    expect(text).toContain("prom-client's Pushgateway is not in ekslink's bundle");
  });

  it('has stand-ins that refuse to be built and say what to do instead', () => {
    const Pushgateway = require('../../scripts/bundle/prom-client-pushgateway.cjs') as new () => unknown;
    const ThreadStream = require('../../scripts/bundle/thread-stream.cjs') as new () => unknown;
    expect(() => new Pushgateway()).toThrow(/Pushgateway is not in ekslink's bundle.*scrape \/metrics/);
    expect(() => new ThreadStream()).toThrow(/pino transports are not in ekslink's bundle.*standard output/);
  });
});
