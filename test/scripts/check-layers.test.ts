/**
 * scripts/check-layers.ts, the layer check of `npm run check`: on a fixture tree written to a
 * temp dir (a ground floor, two parts on one floor, a top with inner floors), each kind of
 * break is named with its file, line, layers and fix; and the repo itself passes.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checkLayers, type Finding, type LayerPlan } from '../../scripts/layers/check.js';
import { PLAN } from '../../scripts/layers/plan.js';

const FIXTURE_PLAN: LayerPlan = {
  floors: [
    [{ name: 'base', paths: ['base/'], why: 'ground floor' }],
    [
      { name: 'left', paths: ['left/'], why: 'a part' },
      { name: 'right', paths: ['right/'], why: 'another part' },
    ],
    [
      {
        name: 'top',
        paths: ['top/'],
        why: 'the top, with floors inside',
        floors: [
          [{ name: 'top/lib', paths: ['top/lib/'], why: 'inner ground' }],
          [{ name: 'top/main', paths: ['top/main.ts'], why: 'inner top' }],
        ],
      },
    ],
  ],
  ignore: ['tool.config.ts'],
  allow: [],
};

/** A sound house: every import runs downward. */
const SOUND: Record<string, string> = {
  'base/util.ts': 'export const one = 1;\n',
  'left/a.ts': "import { one } from '../base/util.js';\nexport const a = one;\n",
  'right/b.ts': "import type { one } from '../base/util.js';\nexport const b = 2;\n",
  'top/lib/helper.ts': "import { a } from '../../left/a.js';\nexport const h = a;\n",
  'top/main.ts':
    "import { h } from './lib/helper.js';\nimport { b } from '../right/b.js';\nexport const m = h + b;\n",
  'tool.config.ts': "import { m } from './top/main.js';\nexport default m;\n",
};

let roots: string[] = [];
afterEach(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
  roots = [];
});

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'ekslink-layers-'));
  roots.push(root);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

const kinds = (findings: readonly Finding[]) => findings.map((f) => f.kind);

describe('layer check', () => {
  it('passes a tree whose imports all run downward', () => {
    expect(checkLayers(tree(SOUND), FIXTURE_PLAN)).toEqual([]);
  });

  it('names an upward import: file, line, specifier, both layers and the fix', () => {
    // GIVEN the ground floor importing a part above it
    const root = tree({
      ...SOUND,
      'base/util.ts': "import { a } from '../left/a.js';\nexport const one = 1;\n",
    });
    // WHEN checked
    const findings = checkLayers(root, FIXTURE_PLAN).filter((f) => f.kind === 'upward');
    // THEN one upward finding that says where, which layers, and how to fix it
    expect(findings).toHaveLength(1);
    expect(findings[0]!.files).toEqual(['base/util.ts', 'left/a.ts']);
    expect(findings[0]!.text).toBe(
      [
        "upward import: base/util.ts:1 imports '../left/a.js' (left/a.ts)",
        '  layers: base (floor 1 of 3 of the house) imports left (floor 2 of 3 of the house), which sits above it',
        '  fix: move what base/util.ts needs from left/a.ts down into base or a floor below it, or move base/util.ts up into left or a layer above it',
      ].join('\n'),
    );
  });

  it('names an import cycle with the loop it runs', () => {
    // GIVEN three files of one layer importing each other in a ring (one of the imports type-only)
    const root = tree({
      ...SOUND,
      'left/x.ts': "import { y } from './y.js';\nexport const x = y;\n",
      'left/y.ts': "import { z } from './z.js';\nexport const y = z;\n",
      'left/z.ts': "import type { x } from './x.js';\nexport const z = 3;\n",
    });
    const findings = checkLayers(root, FIXTURE_PLAN);
    expect(kinds(findings)).toEqual(['cycle']);
    expect(findings[0]!.files).toEqual(['left/x.ts', 'left/y.ts', 'left/z.ts']);
    expect(findings[0]!.text).toContain('import cycle: left/x.ts -> left/y.ts -> left/z.ts -> left/x.ts');
    expect(findings[0]!.text).toContain('fix: ');
  });

  it('finds an upward import and a cycle in the same tree, and a cycle across layers', () => {
    // GIVEN the ground floor importing the top (upward) and the top importing it back (a cycle)
    const root = tree({
      ...SOUND,
      'base/util.ts': "export { m } from '../top/main.js';\nexport const one = 1;\n",
    });
    const findings = checkLayers(root, FIXTURE_PLAN);
    expect(kinds(findings).sort()).toEqual(['cycle', 'upward']);
    // THEN the shortest loop, and every file of the knot
    const cycle = findings.find((f) => f.kind === 'cycle')!;
    expect(cycle.text).toContain('import cycle: base/util.ts -> top/main.ts -> right/b.ts -> base/util.ts');
    expect(cycle.files).toEqual([
      'base/util.ts',
      'left/a.ts',
      'right/b.ts',
      'top/lib/helper.ts',
      'top/main.ts',
    ]);
    expect(cycle.text).toContain('in a knot of 5 files');
  });

  it('names a sideways import between two parts on one floor, and the floor to share through', () => {
    const root = tree({ ...SOUND, 'right/b.ts': "import { a } from '../left/a.js';\nexport const b = a;\n" });
    const findings = checkLayers(root, FIXTURE_PLAN);
    expect(kinds(findings)).toEqual(['sideways']);
    expect(findings[0]!.text).toContain('layers: right and left share floor 2 of 3 of the house');
    expect(findings[0]!.text).toContain('down to a floor below both (base)');
  });

  it('checks the floors inside a layer, and counts dynamic imports', () => {
    const root = tree({
      ...SOUND,
      'top/lib/helper.ts': "export const h = 1;\nexport const later = () => import('../main.js');\n",
    });
    const findings = checkLayers(root, FIXTURE_PLAN);
    expect(kinds(findings)).toEqual(['upward', 'cycle']);
    expect(findings[0]!.text).toContain(
      'layers: top/lib (floor 1 of 2 of top) imports top/main (floor 2 of 2 of top), which sits above it',
    );
  });

  it('names a file that sits in no layer, inside a layer with floors or outside every layer', () => {
    const root = tree({ ...SOUND, 'top/stray.ts': 'export {};\n', 'newpart/c.ts': 'export {};\n' });
    const findings = checkLayers(root, FIXTURE_PLAN);
    expect(kinds(findings)).toEqual(['unlayered', 'unlayered']);
    expect(findings.map((f) => f.files[0])).toEqual(['newpart/c.ts', 'top/stray.ts']);
  });

  it('lets an allowlisted import stand, and names the entry once the import is gone', () => {
    const bad = { ...SOUND, 'base/util.ts': "import { a } from '../left/a.js';\nexport const one = a;\n" };
    const plan: LayerPlan = {
      ...FIXTURE_PLAN,
      allow: [{ from: 'base/util.ts', to: 'left/a.ts', why: 'known; removed by its owner' }],
    };
    expect(checkLayers(tree(bad), plan)).toEqual([]);
    const findings = checkLayers(tree(SOUND), plan);
    expect(kinds(findings)).toEqual(['stale-allow']);
    expect(findings[0]!.text).toContain('base/util.ts no longer imports left/a.ts');
  });

  it('the command fails naming the break, and passes the repo', () => {
    const run = (args: string[]) =>
      spawnSync(process.execPath, ['--import', 'tsx', 'scripts/check-layers.ts', ...args], {
        encoding: 'utf8',
      });
    // A tree the real plan does not know: its one file sits in no layer.
    const stray = run([tree({ 'wherever/x.ts': 'export {};\n' })]);
    expect(stray.status).toBe(1);
    expect(stray.stderr).toContain('unlayered file: wherever/x.ts');
    const repo = run([]);
    expect(repo.stderr).toBe('');
    expect(repo.status).toBe(0);
    expect(repo.stdout).toMatch(/^layers: \d+ files, every import runs downward, no import cycles\n$/);
  });

  it('the repo follows its plan', () => {
    expect(checkLayers(process.cwd(), PLAN).map((f) => f.text)).toEqual([]);
  });
});
