/**
 * The layer check: imports only run downward through a plan of floors (scripts/layers/plan.ts)
 * and no import cycle exists. Type-only and dynamic imports count: they are dependencies too.
 * scripts/check-layers.ts runs it over the repo (`npm run check`).
 */
import { listSourceFiles, readImports, type ImportEdge } from './imports.js';

export { listSourceFiles, readImports, type ImportEdge };

/** One layer of the house: a folder (`proxy/`) or files, optionally with floors of its own. */
export interface Layer {
  readonly name: string;
  /** Repo-relative; `dir/` holds everything under it, anything else is one file. */
  readonly paths: readonly string[];
  /** What the layer is, in one line. */
  readonly why: string;
  /** Inner floors, bottom first; every file of the layer must then sit in one of them. */
  readonly floors?: readonly (readonly Layer[])[];
}

/** A known import that breaks the plan, kept on purpose until it is fixed. */
export interface AllowedImport {
  /** Importing file, repo-relative. */
  readonly from: string;
  /** Imported file, repo-relative. */
  readonly to: string;
  /** Why it is still there and who removes it. */
  readonly why: string;
}

export interface LayerPlan {
  /** Bottom floor first. */
  readonly floors: readonly (readonly Layer[])[];
  /** Repo-relative files that belong to no layer (tool config). */
  readonly ignore: readonly string[];
  readonly allow: readonly AllowedImport[];
}

export type FindingKind = 'upward' | 'sideways' | 'cycle' | 'unlayered' | 'stale-allow';

export interface Finding {
  readonly kind: FindingKind;
  /** Files involved, repo-relative. */
  readonly files: readonly string[];
  /** Several lines: what, where, which layers, and the fix. */
  readonly text: string;
}

interface Placement {
  readonly layer: Layer;
  /** Floor index among the parent's floors, 0 at the bottom. */
  readonly floor: number;
  /** The parent's name (`the house` at the top) and floor count, for messages. */
  readonly parent: string;
  readonly floors: readonly (readonly Layer[])[];
}

function covers(path: string, file: string): boolean {
  return path.endsWith('/') ? file.startsWith(path) : file === path;
}

/** From the outermost layer to the innermost one that holds the file; undefined if none does. */
function place(
  file: string,
  floors: readonly (readonly Layer[])[],
  parent = 'the house',
): Placement[] | undefined {
  for (const [floor, layers] of floors.entries()) {
    for (const layer of layers) {
      if (!layer.paths.some((p) => covers(p, file))) continue;
      const here: Placement = { layer, floor, parent, floors };
      if (layer.floors === undefined) return [here];
      const inner = place(file, layer.floors, layer.name);
      return inner === undefined ? undefined : [here, ...inner];
    }
  }
  return undefined;
}

function floorLabel(p: Placement): string {
  return `floor ${p.floor + 1} of ${p.floors.length} of ${p.parent}`;
}

function namesOn(layers: readonly Layer[] | undefined): string {
  return layers === undefined || layers.length === 0 ? 'common' : layers.map((l) => l.name).join(', ');
}

function layerFinding(edge: ImportEdge, a: Placement[], b: Placement[]): Finding | undefined {
  let i = 0;
  while (i < a.length && i < b.length && a[i]!.layer === b[i]!.layer) i++;
  if (i === a.length || i === b.length) return undefined;
  const from = a[i]!;
  const to = b[i]!;
  if (to.floor < from.floor) return undefined;
  const where = `${edge.from}:${edge.line} imports '${edge.specifier}' (${edge.to})`;
  if (to.floor === from.floor) {
    const below = from.floor === 0 ? undefined : from.floors[from.floor - 1];
    return {
      kind: 'sideways',
      files: [edge.from, edge.to],
      text: [
        `sideways import: ${where}`,
        `  layers: ${from.layer.name} and ${to.layer.name} share ${floorLabel(from)}, and layers on one floor do not import each other`,
        `  fix: move what ${edge.from} needs from ${edge.to} down to a floor below both (${namesOn(below)}), or move ${edge.from} to a layer above ${to.layer.name}`,
      ].join('\n'),
    };
  }
  return {
    kind: 'upward',
    files: [edge.from, edge.to],
    text: [
      `upward import: ${where}`,
      `  layers: ${from.layer.name} (${floorLabel(from)}) imports ${to.layer.name} (${floorLabel(to)}), which sits above it`,
      `  fix: move what ${edge.from} needs from ${edge.to} down into ${from.layer.name} or a floor below it, or move ${edge.from} up into ${to.layer.name} or a layer above it`,
    ].join('\n'),
  };
}

/** Strongly connected components with more than one file, or a file importing itself (Tarjan). */
function cyclesOf(files: readonly string[], edges: readonly ImportEdge[]): string[][] {
  const next = new Map<string, string[]>(files.map((f) => [f, []]));
  for (const e of edges) next.get(e.from)?.push(e.to);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const found: string[][] = [];
  let counter = 0;
  const visit = (v: string) => {
    index.set(v, counter);
    low.set(v, counter);
    counter++;
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || next.get(v)!.includes(v)) found.push(component.sort());
  };
  for (const f of files) if (!index.has(f)) visit(f);
  return found;
}

/** One concrete loop through a component, starting at its first file: `a -> b -> a`. */
function loopThrough(component: readonly string[], edges: readonly ImportEdge[]): string[] {
  const inside = new Set(component);
  const start = component[0]!;
  const cameFrom = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const e of edges) {
      if (e.from !== v || !inside.has(e.to)) continue;
      if (e.to === start) {
        const path = [start];
        for (let at = v; at !== start; at = cameFrom.get(at)!) path.splice(1, 0, at);
        return [...path, start];
      }
      if (!cameFrom.has(e.to)) {
        cameFrom.set(e.to, v);
        queue.push(e.to);
      }
    }
  }
  return [...component, start];
}

/** Every finding for the tree at root, in a stable order; empty when the house is sound. */
export function checkLayers(root: string, plan: LayerPlan): Finding[] {
  const findings: Finding[] = [];
  const files = listSourceFiles(root).filter((f) => !plan.ignore.includes(f));
  const placed = new Map<string, Placement[]>();
  for (const file of files) {
    const p = place(file, plan.floors);
    if (p !== undefined) {
      placed.set(file, p);
      continue;
    }
    findings.push({
      kind: 'unlayered',
      files: [file],
      text: [
        `unlayered file: ${file} sits in no layer of the plan (scripts/layers/plan.ts)`,
        `  fix: add its folder (or the file) to the layer it belongs to, on the floor of what it imports, or to ignore if it is tool config`,
      ].join('\n'),
    });
  }
  const allowKey = (from: string, to: string) => `${from} -> ${to}`;
  const allowed = new Set(plan.allow.map((a) => allowKey(a.from, a.to)));
  const all = readImports(root, files);
  const used = new Set<string>();
  const edges = all.filter((e) => {
    const key = allowKey(e.from, e.to);
    if (!allowed.has(key)) return true;
    used.add(key);
    return false;
  });
  for (const edge of edges) {
    const a = placed.get(edge.from);
    const b = placed.get(edge.to);
    if (a === undefined || b === undefined) continue;
    const finding = layerFinding(edge, a, b);
    if (finding !== undefined) findings.push(finding);
  }
  for (const component of cyclesOf(files, edges)) {
    const loop = loopThrough(component, edges);
    findings.push({
      kind: 'cycle',
      files: component,
      text: [
        `import cycle: ${loop.join(' -> ')}`,
        component.length > loop.length - 1
          ? `  in a knot of ${component.length} files: ${component.join(', ')}`
          : '',
        `  fix: move what the files share into a file of its own that each imports, or turn one import around (pass it in instead)`,
      ]
        .filter((l) => l !== '')
        .join('\n'),
    });
  }
  for (const a of plan.allow) {
    if (used.has(allowKey(a.from, a.to))) continue;
    findings.push({
      kind: 'stale-allow',
      files: [a.from],
      text: [
        `stale allowlist entry: ${a.from} no longer imports ${a.to}`,
        `  fix: delete the entry from allow in the plan (scripts/layers/plan.ts)`,
      ].join('\n'),
    });
  }
  return findings;
}
