import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from './errors.js';

/** Render a zod issue path the way a person writes it in YAML: `routes[0].sni`. */
export function formatIssuePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? '(top level)' : out;
}

function formatValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  if (text === undefined) return String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** One line per issue: `<where>: <message> (got <value>)`. */
export function formatZodIssues(issues: readonly z.core.$ZodIssue[], input: unknown): string[] {
  return issues.map((issue) => {
    const where = formatIssuePath(issue.path);
    const got = issue.code === 'unrecognized_keys' ? '' : ` (got ${formatValue(valueAt(input, issue.path))})`;
    return `${where}: ${issue.message}${got}`;
  });
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = input;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}

/** zod's default for an unknown key does not say what to do about it. */
function unknownKeyMessage(issue: z.core.$ZodRawIssue): string | undefined {
  if (issue.code !== 'unrecognized_keys') return undefined;
  const keys = (issue.keys as string[]).map((k) => `"${k}"`).join(', ');
  return `unknown key${issue.keys.length === 1 ? '' : 's'} ${keys}: check the spelling (keys are case-sensitive) or remove it`;
}

/** Validate already-parsed data against a schema; throws ConfigError listing every problem. */
export function validateConfig<S extends z.ZodType>(schema: S, data: unknown, origin: string): z.output<S> {
  const result = schema.safeParse(data, { error: unknownKeyMessage });
  if (result.success) return result.data;
  const problems = formatZodIssues(result.error.issues, data);
  throw new ConfigError(
    `${origin} is not valid (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n  - ${problems.join('\n  - ')}`,
    problems,
  );
}

/** Parse YAML or JSON text (JSON is read by the YAML parser too, with the same line numbers). */
export function parseConfigText(text: string, origin: string): unknown {
  try {
    return parseYaml(text, { prettyErrors: true, uniqueKeys: true });
  } catch (err) {
    const detail = err instanceof YAMLParseError ? err.message : String(err);
    throw new ConfigError(`${origin} is not valid YAML or JSON: ${detail}`, [detail], { cause: err });
  }
}

/** Read, parse and validate a YAML or JSON config file. */
export async function loadConfigFile<S extends z.ZodType>(path: string, schema: S): Promise<z.output<S>> {
  const ext = extname(path).toLowerCase();
  if (!['.yaml', '.yml', '.json'].includes(ext)) {
    throw new ConfigError(
      `config file ${path}: unsupported extension "${ext || '(none)'}"; use .yaml, .yml or .json, e.g. ekslink.yaml`,
    );
  }
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    throw new ConfigError(
      `config file ${path} cannot be read (${code}); check the path passed to --config`,
      [],
      {
        cause: err,
      },
    );
  }
  return validateConfig(schema, parseConfigText(text, `config file ${path}`), `config file ${path}`);
}
