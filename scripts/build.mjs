// Bundles the one CLI into dist/: what the tests spawn, the Docker image copies and the CDK asset ships.
// `node scripts/build.mjs OUTDIR` writes the same bundle into a new or empty OUTDIR instead: the demo
// tests spawn such a private copy, which a concurrent `npm run build` (it empties dist/) cannot pull
// out from under them.
import { build } from 'esbuild';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { leanServingProcess } from './bundle/lean-serving-process.mjs';

const outDir = process.argv[2] ?? 'dist';
if (outDir === 'dist') {
  rmSync('dist', { recursive: true, force: true });
} else if (existsSync(outDir) && readdirSync(outDir).length > 0) {
  // Never empty a directory that was named by hand: it may hold anything.
  console.error(`scripts/build.mjs: ${outDir} is not empty; name a new or empty directory`);
  process.exit(2);
}
await build({
  // proxy-worker: what a data-plane worker process runs (the data path only, see proxy/process/worker-main.ts).
  entryPoints: { ekslink: 'cli/main.ts', 'proxy-worker': 'proxy/process/worker-main.ts' },
  outdir: outDir,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node24',
  sourcemap: 'linked',
  legalComments: 'none',
  // No comments or layout in the bundle: V8 keeps every loaded script's source in the heap,
  // and one non-ASCII character in a comment makes a chunk's copy two bytes per character.
  // Names stay (no identifier minifying), so stack traces still read.
  minifyWhitespace: true,
  minifySyntax: true,
  // CommonJS dependencies bundled into ESM still call require() for Node built-ins.
  banner: {
    js: "import { createRequire as __ekslinkCreateRequire } from 'node:module'; const require = __ekslinkCreateRequire(import.meta.url);",
  },
  // What the serving process never uses stays out of its memory: see the plugin.
  plugins: [leanServingProcess],
  logLevel: 'warning',
});
