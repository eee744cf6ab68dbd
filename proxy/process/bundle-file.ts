/**
 * A file of the CLI bundle (dist/), found next to the chunk this code was bundled into, or
 * undefined when running from source (tests import the TypeScript directly, and there is no
 * bundle beside it). The worker entry and the CLI the config child runs are found this way.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** `name` in the bundle's directory, e.g. `ekslink.mjs`, if it is there. */
export function bundleFile(name: string): string | undefined {
  const path = fileURLToPath(new URL(`./${name}`, import.meta.url));
  return existsSync(path) ? path : undefined;
}
