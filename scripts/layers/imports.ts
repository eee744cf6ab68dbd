/** The files the layer check reads and the relative imports in them, resolved to files. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, posix, relative, sep } from 'node:path';
import ts from 'typescript';

export interface ImportEdge {
  readonly from: string;
  readonly to: string;
  readonly specifier: string;
  readonly line: number;
}

const SOURCE_EXT = /\.(ts|mts|mjs)$/;
const SKIP_DIRS = new Set(['node_modules', 'dist', 'cdk.out', 'coverage']);

/** Every source file under root, repo-relative with `/`, sorted. */
export function listSourceFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.') || SKIP_DIRS.has(entry.name)) continue;
      const full = join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (SOURCE_EXT.test(entry.name) && !entry.name.endsWith('.d.ts'))
        out.push(toPosix(relative(root, full)));
    }
  };
  walk(root);
  return out.sort();
}

function toPosix(p: string): string {
  return p.split(sep).join('/');
}

/** The repo file a relative specifier names (`./x.js` is `x.ts` on disk), or undefined. */
function resolveSpecifier(root: string, from: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const base = posix.normalize(posix.join(posix.dirname(from), specifier));
  const candidates = base.endsWith('.js')
    ? [`${base.slice(0, -3)}.ts`, base]
    : base.endsWith('.mjs')
      ? [`${base.slice(0, -4)}.mts`, base]
      : [base, `${base}.ts`, `${base}/index.ts`];
  return candidates.find((c) => !c.startsWith('..') && existsSync(join(root, c)) && SOURCE_EXT.test(c));
}

/** The relative imports of each file (static, type-only, re-exports, dynamic), resolved to files. */
export function readImports(root: string, files: readonly string[]): ImportEdge[] {
  const edges: ImportEdge[] = [];
  for (const from of files) {
    const text = readFileSync(join(root, from), 'utf8');
    const info = ts.preProcessFile(text, true, true);
    for (const ref of info.importedFiles) {
      const to = resolveSpecifier(root, from, ref.fileName);
      if (to === undefined) continue;
      const line = text.slice(0, ref.pos).split('\n').length;
      edges.push({ from, to, specifier: ref.fileName, line });
    }
  }
  return edges;
}
