import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ERROR_SECTIONS, MESSAGE_CODES, renderErrorsDoc } from '../../scripts/error-catalogs.js';

describe('docs/errors.md', () => {
  it('is what the catalogs generate (run `npm run docs:errors` after adding a code)', () => {
    expect(readFileSync('docs/errors.md', 'utf8')).toBe(renderErrorsDoc());
  });

  it('lists every EKL_ code the source can raise', () => {
    const documented = new Set([
      ...ERROR_SECTIONS.flatMap((s) => Object.keys(s.codes)),
      ...MESSAGE_CODES.map((m) => m.code),
    ]);
    const files = execFileSync('git', ['ls-files', '*.ts'], { encoding: 'utf8' })
      .split('\n')
      .filter((f) => f !== '' && !f.startsWith('test/'));
    const used = new Set<string>();
    for (const file of files) {
      for (const m of readFileSync(file, 'utf8').matchAll(/'(EKL_[A-Z0-9_]+)'/g)) used.add(m[1]!);
    }
    const missing = [...used].filter((code) => !documented.has(code)).sort();
    expect(missing).toEqual([]);
  });

  it('gives each code one meaning', () => {
    const seen = new Map<string, string>();
    for (const section of ERROR_SECTIONS) {
      for (const code of Object.keys(section.codes)) {
        expect(
          seen.get(code),
          `${code} is in both "${seen.get(code)}" and "${section.title}"`,
        ).toBeUndefined();
        seen.set(code, section.title);
      }
    }
  });
});
