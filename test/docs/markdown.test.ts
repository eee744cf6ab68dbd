/**
 * The Markdown docs render as written: every table row has its header's number of cells (an
 * unescaped `|` in a cell splits it), and every relative link points at a file inside the
 * repository.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = process.cwd();
const FILES = [
  'README.md',
  ...readdirSync('docs')
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

/** Cells of a table row: split on `|` that is not escaped as `\|`. */
function cells(row: string): number {
  return row
    .trim()
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split(/(?<!\\)\|/).length;
}

function withoutCodeBlocks(text: string): string[] {
  let inFence = false;
  return text.split('\n').map((line) => {
    if (/^\s*```/.test(line)) inFence = !inFence;
    return inFence || /^\s*```/.test(line) ? '' : line;
  });
}

describe('Markdown docs', () => {
  it.each(FILES)('%s: every table row has as many cells as its header', (file) => {
    const lines = withoutCodeBlocks(readFileSync(file, 'utf8'));
    const bad: string[] = [];
    let width: number | undefined;
    lines.forEach((line, i) => {
      if (!line.trim().startsWith('|')) {
        width = undefined;
        return;
      }
      if (width === undefined) width = cells(line);
      else if (cells(line) !== width) bad.push(`line ${i + 1}: ${cells(line)} cells, header has ${width}`);
    });
    expect(bad).toEqual([]);
  });

  it.each(FILES)('%s: relative links point at files inside the repository', (file) => {
    const text = withoutCodeBlocks(readFileSync(file, 'utf8')).join('\n');
    const bad: string[] = [];
    for (const m of text.matchAll(/\]\(([^)\s]+)\)|`(\.\.\/[^`\s]+)`/g)) {
      const target = (m[1] ?? m[2] ?? '').split('#')[0] as string;
      if (target === '' || /^[a-z]+:/.test(target)) continue;
      const path = resolve(dirname(join(ROOT, file)), target);
      if (relative(ROOT, path).startsWith('..')) bad.push(`${target}: outside the repository`);
      else if (!existsSync(path)) bad.push(`${target}: no such file`);
    }
    expect(bad).toEqual([]);
  });
});
