import { readFile, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type * as z from 'zod';
import { ConfigError } from './errors.js';
import { issueMessage, polishIssue } from './zod-messages.js';

/** How issue paths are written: as YAML keys (`routes[0].sni`) or as the CLI flags (`--timeout-ms`). */
export type PathStyle = 'keys' | 'flags';

/** Render a zod issue path the way a person writes it in YAML: `routes[0].sni`. */
export function formatIssuePath(path: readonly PropertyKey[], style: PathStyle = 'keys'): string {
  if (style === 'flags' && path.length > 0 && typeof path[0] === 'string') {
    const flag = `--${path[0].replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    if (path.length === 1) return flag;
    const rest = formatIssuePath(path.slice(1));
    return typeof path[1] === 'number' ? `${flag}${rest}` : `${flag} ${rest}`;
  }
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? '(top level)' : out;
}

function formatValue(value: unknown): string {
  const text = JSON.stringify(value);
  if (text === undefined) return String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/**
 * One line per issue: `<where>: <what is allowed, e.g. …> (got <value>)`; a missing key says
 * it is required instead of what was received.
 */
export function formatZodIssues(
  issues: readonly z.core.$ZodIssue[],
  input: unknown,
  style: PathStyle = 'keys',
): string[] {
  return issues.map((issue) => {
    const where = formatIssuePath(issue.path, style);
    const value = valueAt(input, issue.path);
    let message = polishIssue(issue, value);
    // "--server: --server is required …" says the key twice.
    if (message.startsWith(`${where} `)) message = message.slice(where.length + 1);
    const got =
      issue.code === 'unrecognized_keys' || value === undefined ? '' : ` (got ${formatValue(value)})`;
    return `${where}: ${message}${got}`;
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

function startsWith(path: readonly PropertyKey[], prefix: readonly PropertyKey[]): boolean {
  return prefix.length <= path.length && prefix.every((key, i) => path[i] === key);
}

/**
 * Params for a cross-field `.refine` / `.superRefine`: zod runs such a check only when every
 * field parsed, so a region mismatch would show up only after every other problem was fixed.
 * With these it runs as soon as the fields it reads (`paths`) parsed, whatever else failed,
 * and every problem is in one report. The check must read only those fields.
 */
export function whenParsed(...paths: readonly (readonly PropertyKey[])[]): {
  when: (payload: z.core.ParsePayload) => boolean;
} {
  return {
    when: (payload) =>
      paths.every((p) => {
        const parent = valueAt(payload.value, p.slice(0, -1));
        if (parent === null || typeof parent !== 'object') return false;
        // A failed check (`continue`) leaves a value of the right type; a missing key or a
        // wrong type does not, and a check reading it would report nonsense.
        return !payload.issues.some(
          (issue) =>
            issue.code !== 'unrecognized_keys' &&
            issue.continue !== true &&
            (startsWith(issue.path ?? [], p) || startsWith(p, issue.path ?? [])),
        );
      }),
  };
}

export interface ValidateOptions {
  /** `flags` for CLI options: problems name `--timeout-ms`, not `timeoutMs`. @default keys */
  readonly paths?: PathStyle;
}

/** Validate already-parsed data against a schema; throws ConfigError listing every problem. */
export function validateConfig<S extends z.ZodType>(
  schema: S,
  data: unknown,
  origin: string,
  options: ValidateOptions = {},
): z.output<S> {
  const result = schema.safeParse(data, { error: issueMessage });
  if (result.success) return result.data;
  const problems = formatZodIssues(result.error.issues, data, options.paths);
  throw new ConfigError(
    `${origin} is not valid (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n  - ${problems.join('\n  - ')}`,
    problems,
  );
}

/**
 * Parse YAML or JSON text (JSON is read by the YAML parser too, with the same line numbers,
 * so duplicate keys are refused in both). Text that starts like JSON and is not valid JSON
 * gets the JSON parser's message, which names what it expected where.
 */
export function parseConfigText(text: string, origin: string): unknown {
  const looksJson = /^\s*[{[]/.test(text);
  let jsonError: string | undefined;
  if (looksJson) {
    try {
      JSON.parse(text);
    } catch (err) {
      jsonError = err instanceof Error ? err.message : String(err);
    }
  }
  try {
    return parseYaml(text, { prettyErrors: true, uniqueKeys: true });
  } catch (err) {
    if (jsonError !== undefined) {
      throw new ConfigError(`${origin} is not valid JSON: ${jsonError}`, [jsonError], { cause: err });
    }
    const detail = err instanceof YAMLParseError ? err.message : String(err);
    throw new ConfigError(`${origin} is not valid YAML or JSON: ${detail}`, [detail], { cause: err });
  }
}

const READ_ERRORS: Readonly<Record<string, string>> = {
  ENOENT: 'does not exist: check the path and the current directory',
  EACCES: 'cannot be read (permission denied): run as a user who may read it, or fix its mode',
  EISDIR: 'is a directory: give the YAML or JSON file inside it',
  ENOTDIR: 'does not exist: a part of its path is not a directory',
};

/** Read, parse and validate a YAML or JSON config file. */
export async function loadConfigFile<S extends z.ZodType>(path: string, schema: S): Promise<z.output<S>> {
  const isDirectory = await stat(path).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (isDirectory) {
    throw new ConfigError(
      `config file ${path} ${READ_ERRORS.EISDIR}, e.g. ${path.replace(/\/$/, '')}/ekslink.yaml`,
    );
  }
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
    throw new ConfigError(`config file ${path} ${READ_ERRORS[code] ?? `cannot be read (${code})`}`, [], {
      cause: err,
    });
  }
  const origin = `config file ${path}`;
  const data = ext === '.json' ? parseJsonFile(text, origin) : parseConfigText(text, origin);
  return validateConfig(schema, data, origin);
}

/** A .json file must be JSON: its errors are the JSON parser's, not the YAML parser's. */
function parseJsonFile(text: string, origin: string): unknown {
  try {
    JSON.parse(text);
  } catch (err) {
    let detail = (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ');
    if (!/\bline \d+/.test(detail)) {
      // V8 does not always say where; the YAML reader does (JSON is YAML), when it fails too.
      try {
        parseYaml(text, { uniqueKeys: true });
      } catch (yamlErr) {
        const at = yamlErr instanceof YAMLParseError ? yamlErr.linePos?.[0] : undefined;
        if (at) detail += ` (near line ${at.line} column ${at.col})`;
      }
    }
    throw new ConfigError(`${origin} is not valid JSON: ${detail}`, [detail], { cause: err });
  }
  // Parsed again by the YAML parser, which refuses duplicate keys (JSON.parse keeps the last).
  return parseConfigText(text, origin);
}
