/**
 * The demo tests' private copy of the CLI bundle, built by the one build (scripts/build.mjs)
 * into a directory of their own: a concurrent `npm run build` (it empties dist/) cannot pull
 * it out from under them.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

export async function buildCliTo(outDir: string): Promise<string> {
  await promisify(execFile)(process.execPath, ['scripts/build.mjs', outDir]);
  return join(outDir, 'ekslink.mjs');
}
