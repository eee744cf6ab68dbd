/**
 * The system tools some tests run. A missing one is a test failure that says why, never a
 * skip: `npm test` runs scripts/system-deps.sh first, which installs them (root with apt) or
 * stops at once naming each one, so on a machine of the project's kind none is missing.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'vitest';

/** In the message of a test that failed for want of a tool or root; the summary reporter counts these. */
export const CANNOT_RUN = 'cannot run on this machine';

/** Whether `name` is an executable file in a directory on PATH. */
export function onPath(name: string): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => dir !== '' && existsSync(join(dir, name)));
}

/** The reason tests needing these commands cannot run here, or undefined when they can. */
export function missingCommandsReason(names: readonly string[]): string | undefined {
  const missing = names.filter((name) => !onPath(name));
  return missing.length === 0 ? undefined : `not on PATH: ${missing.join(', ')}`;
}

/** Throws, inside a test, when `reason` is set: the test fails and says what is missing. */
export function requireHere(reason: string | undefined, what: string): void {
  if (reason === undefined) return;
  throw new Error(
    `${what} ${CANNOT_RUN}: ${reason}. Run \`bash scripts/system-deps.sh\` (npm test does): it installs the Debian packages as root, or names what is missing and how to get it.`,
  );
}

/**
 * When `reason` is set, registers one test that fails naming it and returns true, so the
 * caller registers nothing else: `describe(NAME, () => { if (cannotRunHere(reason, NAME)) return; ... })`.
 */
export function cannotRunHere(reason: string | undefined, what: string): boolean {
  if (reason === undefined) return false;
  it(`${what}: cannot run here (${reason})`, () => requireHere(reason, what));
  return true;
}
