/**
 * Bundles the CLI exactly as scripts/build.mjs does, but into a private directory: the demo
 * tests then spawn their own copy, which a concurrent `npm run build` (it empties dist/)
 * cannot pull out from under them.
 */
import { build } from 'esbuild';
import { join } from 'node:path';

export async function buildCliTo(outDir: string): Promise<string> {
  await build({
    entryPoints: { ekslink: 'cli/main.ts' },
    outdir: outDir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node24',
    legalComments: 'none',
    banner: {
      js: "import { createRequire as __ekslinkCreateRequire } from 'node:module'; const require = __ekslinkCreateRequire(import.meta.url);",
    },
    logLevel: 'warning',
  });
  return join(outDir, 'ekslink.mjs');
}

// `npx tsx test/demo/build-cli.ts OUTDIR` builds by hand.
if (process.argv[1]?.endsWith('build-cli.ts') && process.argv[2]) {
  console.log(await buildCliTo(process.argv[2]));
}
