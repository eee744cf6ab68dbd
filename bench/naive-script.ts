/**
 * bench/naive-proxy.ts as the plain JavaScript file the naive peer runs. Node can run the
 * .ts file itself, but its type stripping loads a WebAssembly transpiler into the process
 * (+20 MiB RSS, a larger heap for every GC to walk), which the hand-written proxy the peer
 * stands for would not carry. esbuild strips the types once, here, before the peer starts.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { transform } from 'esbuild';

const NAIVE_PROXY_SOURCE = fileURLToPath(new URL('./naive-proxy.ts', import.meta.url));

/** Writes `dir/naive-proxy.mjs` and returns its path. */
export async function writeNaiveProxyScript(dir: string): Promise<string> {
  const { code } = await transform(await readFile(NAIVE_PROXY_SOURCE, 'utf8'), {
    loader: 'ts',
    format: 'esm',
    target: 'node24',
  });
  const path = join(dir, 'naive-proxy.mjs');
  await writeFile(path, code);
  return path;
}
