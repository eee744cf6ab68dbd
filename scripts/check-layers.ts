// Fails naming each upward or sideways import and each import cycle (plan: scripts/layers/plan.ts).
// `npm run check` runs it; `npx tsx scripts/check-layers.ts [ROOT]` checks another tree.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkLayers, listSourceFiles, type FindingKind } from './layers/check.js';
import { PLAN } from './layers/plan.js';

const root = resolve(process.argv[2] ?? resolve(dirname(fileURLToPath(import.meta.url)), '..'));
const findings = checkLayers(root, PLAN);
if (findings.length === 0) {
  console.log(`layers: ${listSourceFiles(root).length} files, every import runs downward, no import cycles`);
} else {
  for (const f of findings) console.error(`${f.text}\n`);
  const counts = new Map<FindingKind, number>();
  for (const f of findings) counts.set(f.kind, (counts.get(f.kind) ?? 0) + 1);
  console.error(
    `layers: ${[...counts].map(([k, n]) => `${n} ${k}`).join(', ')} (plan: scripts/layers/plan.ts)`,
  );
  process.exitCode = 1;
}
