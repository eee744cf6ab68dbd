/**
 * Human messages for schema problems: every line says what is allowed, with an example, in
 * words a person who writes YAML or flags uses. zod's own phrases ("Invalid input",
 * "expected string, received number") never reach the user: `issueMessage` is the error map
 * for issues whose schema gave no message, and `polishIssue` adds what any message needs
 * (required, quote it, drop the quotes) whether the schema wrote it or not.
 */
import type * as z from 'zod';

type Schema = z.core.$ZodType;
type Def = z.core.$ZodTypeDef & Record<string, unknown>;

function defOf(schema: Schema): Def {
  return schema._zod.def as Def;
}

/** Wrappers that do not change what is allowed. */
function unwrap(schema: Schema): Schema {
  let cur = schema;
  for (let i = 0; i < 20; i++) {
    const def = defOf(cur);
    const inner = (
      ['optional', 'nullable', 'default', 'prefault', 'readonly', 'catch', 'nonoptional'] as const
    ).includes(def.type as never)
      ? (def.innerType as Schema | undefined)
      : def.type === 'pipe'
        ? (def.in as Schema | undefined)
        : undefined;
    if (inner === undefined) return cur;
    cur = inner;
  }
  return cur;
}

/**
 * A message the schema author wrote on the type or one of its checks that says what is
 * allowed ("must be …" first, then any other "must …"), if there is one.
 */
function authoredMessage(schema: Schema): string | undefined {
  const s = unwrap(schema);
  const candidates: unknown[] = [defOf(s).error];
  for (const check of (defOf(s).checks as z.core.$ZodCheck[] | undefined) ?? []) {
    candidates.push(check._zod.def.error);
  }
  const texts: string[] = [];
  for (const error of candidates) {
    if (typeof error !== 'function') continue;
    let text: unknown;
    try {
      text = (error as (issue: unknown) => unknown)({ code: 'custom', input: undefined, path: [] });
    } catch {
      continue;
    }
    if (typeof text === 'object' && text !== null) text = (text as { message?: unknown }).message;
    if (typeof text === 'string') texts.push(stripSubject(text));
  }
  return texts.find((t) => /^must be\b/.test(t)) ?? texts.find((t) => /^must (?!not\b)/.test(t));
}

/** "listen.port must be ..." -> "must be ...": the line already starts with the key. */
export function stripSubject(message: string): string {
  const m = /^(?:--)?[A-Za-z_][\w.[\]-]* (must\b.*)$/s.exec(message);
  return m ? (m[1] as string) : message;
}

function numberRange(schema: Schema): { text: string; example: number } {
  // zod's number schema keeps its bounds as minValue / maxValue / isInt.
  const n = schema as unknown as { minValue?: number | null; maxValue?: number | null; isInt?: boolean };
  const kind = n.isInt === true ? 'a whole number' : 'a number';
  const bounded = (v: number | null | undefined) =>
    typeof v === 'number' && Number.isFinite(v) && Math.abs(v) < 2 ** 52 ? v : undefined;
  const lo = bounded(n.minValue);
  const hi = bounded(n.maxValue);
  const text =
    lo !== undefined && hi !== undefined
      ? `${kind} from ${lo} to ${hi}`
      : lo !== undefined
        ? `${kind} of at least ${lo}`
        : hi !== undefined
          ? `${kind} of at most ${hi}`
          : kind;
  return { text, example: lo ?? hi ?? 1 };
}

/** "must be …, e.g. …" for a schema that wrote no message of its own. */
export function allowedBy(schema: Schema): string {
  const s = unwrap(schema);
  const def = defOf(s);
  const authored = authoredMessage(schema);
  if (def.type === 'array') {
    const list = 'must be a list (one "- item" per line, or [a, b])';
    if (authored !== undefined && !/^must be\b/.test(authored)) return `${list}; it ${authored}`;
    return authored ?? `${list} whose items each ${allowedBy(def.element as Schema)}`;
  }
  if (def.type === 'number' || def.type === 'int') {
    // The range first: an author's "must be at least 100" reads oddly for "abc".
    const r = numberRange(s);
    const example = authored !== undefined ? /e\.g\. (.+)$/.exec(authored)?.[1] : undefined;
    return /^must be (a|an|one of) /.test(authored ?? '')
      ? (authored as string)
      : `must be ${r.text}, e.g. ${example ?? r.example}`;
  }
  if (authored !== undefined) return authored;
  switch (def.type) {
    case 'string':
      return 'must be text, e.g. "example"';
    case 'boolean':
      return 'must be true or false (no quotes), e.g. true';
    case 'object': {
      const keys = Object.keys((def.shape as Record<string, unknown>) ?? {});
      return keys.length > 0
        ? `must be a mapping of keys (${keys.slice(0, 6).join(', ')}${keys.length > 6 ? ', …' : ''}), e.g. ${keys[0]}: …`
        : 'must be a mapping of keys';
    }
    case 'record':
      return 'must be a mapping of keys to values, e.g. name: value';
    case 'enum':
      return oneOf(Object.values(def.entries as Record<string, unknown>));
    case 'literal':
      return oneOf(def.values as unknown[]);
    case 'union':
      return `must be ${(def.options as Schema[]).map((o) => allowedBy(o).replace(/^must be /, '')).join(', or ')}`;
    default:
      return 'must be a value of the documented form';
  }
}

function oneOf(values: readonly unknown[]): string {
  const shown = values.map((v) => JSON.stringify(v));
  return shown.length === 1 ? `must be ${shown[0]}` : `must be one of ${shown.join(', ')}, e.g. ${shown[0]}`;
}

function plural(n: number | bigint, word: string): string {
  return `${n} ${word}${Number(n) === 1 ? '' : 's'}`;
}

type RawIssue = z.core.$ZodRawIssue & { inst?: Schema | z.core.$ZodCheck };

/** The error map for issues whose schema wrote no message: never zod's own phrasing. */
export function issueMessage(issue: RawIssue): string {
  const def = issue.inst?._zod.def as Record<string, unknown> | undefined;
  const schema = def !== undefined && typeof def.type === 'string' ? (issue.inst as Schema) : undefined;
  switch (issue.code) {
    case 'invalid_type': {
      const allowed = schema ? allowedBy(schema) : `must be ${String(issue.expected)}`;
      if (issue.input === undefined) return `is required: ${allowed}`;
      const element =
        schema && defOf(unwrap(schema)).type === 'array' ? defOf(unwrap(schema)).element : undefined;
      if (element && (element as z.ZodType).safeParse(issue.input).success) {
        return `${allowed}; for one item write [${JSON.stringify(issue.input)}]`;
      }
      return allowed;
    }
    case 'too_small': {
      const inclusive = issue.inclusive !== false;
      if (issue.origin === 'string')
        return Number(issue.minimum) <= 1
          ? 'must not be empty'
          : `must be at least ${plural(issue.minimum, 'character')}`;
      if (issue.origin === 'array' || issue.origin === 'set')
        return `must list at least ${plural(issue.minimum, 'item')}`;
      return `must be ${inclusive ? 'at least' : 'more than'} ${issue.minimum}, e.g. ${issue.minimum}`;
    }
    case 'too_big': {
      const inclusive = issue.inclusive !== false;
      if (issue.origin === 'string') return `must be at most ${plural(issue.maximum, 'character')}`;
      if (issue.origin === 'array' || issue.origin === 'set')
        return `must list at most ${plural(issue.maximum, 'item')}`;
      return `must be ${inclusive ? 'at most' : 'less than'} ${issue.maximum}, e.g. ${issue.maximum}`;
    }
    case 'invalid_value':
      return oneOf(issue.values as unknown[]);
    case 'invalid_format':
      if (issue.format === 'url') return 'must be a URL, e.g. "https://example.com"';
      if (issue.format === 'starts_with')
        return `must start with ${JSON.stringify((issue as { prefix?: string }).prefix ?? '')}`;
      if (issue.format === 'regex') return 'is not of the documented form (see the docs for an example)';
      return `must be a valid ${issue.format}`;
    case 'not_multiple_of':
      return `must be a multiple of ${issue.divisor}`;
    case 'invalid_union': {
      const branches = (issue.errors as z.core.$ZodIssue[][]).map((b) => b[0]?.message).filter(Boolean);
      if (branches.length === 0) return schema ? allowedBy(schema) : 'is not one of the allowed forms';
      const alts = [
        ...new Set(branches.map((m) => stripSubject(m as string).replace(/^(is required: )?must be /, ''))),
      ];
      return `must be ${alts.join(', or ')}`;
    }
    case 'invalid_key':
      return 'has a key that is not allowed';
    case 'invalid_element':
      return 'has a value that is not allowed';
    case 'unrecognized_keys': {
      const keys = issue.keys.map((k) => `"${k}"`).join(', ');
      return `unknown key${issue.keys.length === 1 ? '' : 's'} ${keys}: check the spelling (keys are case-sensitive) or remove it`;
    }
    default:
      return 'is not valid here (see the docs for the allowed values)';
  }
}

/**
 * The final text for one problem, given the value that was received: says "required" for a
 * missing key, to quote a number that must be text, and to unquote a number written as text.
 */
export function polishIssue(issue: z.core.$ZodIssue, received: unknown): string {
  let message = stripSubject(issue.message);
  const shapeIssue = ['invalid_type', 'invalid_value', 'invalid_union'].includes(issue.code);
  if (received === undefined && shapeIssue) {
    return /\brequired\b/.test(message) ? message : `is required: ${message}`;
  }
  if (issue.code !== 'invalid_type') return message;
  const expected = (issue as { expected?: string }).expected;
  if (expected === 'string' && (typeof received === 'number' || typeof received === 'boolean')) {
    message = `${message}; ${String(received)} was read as a ${typeof received}: write it in quotes, "${String(received)}"`;
    if (typeof received === 'number' && Number.isInteger(received) && received >= 100_000)
      message += ' (unquoted, a leading zero would be lost)';
  } else if (
    (expected === 'number' || expected === 'int') &&
    typeof received === 'string' &&
    received.trim() !== '' &&
    Number.isFinite(Number(received)) &&
    !/quot/i.test(message)
  ) {
    message = `${message}; write it without quotes: ${received.trim()}`;
  } else if (expected === 'boolean' && (received === 'true' || received === 'false')) {
    message = `${message}; write it without quotes: ${received}`;
  }
  return message;
}

/** Phrases of zod's own messages; none may reach a user (tests check every schema for them). */
export const RAW_VALIDATOR_PHRASES: readonly RegExp[] = [
  /Invalid input/i,
  /expected \w+, received/i,
  /received undefined/i,
  /Invalid (string|number|option|enum|element|key|union)/i,
  /Too (small|big):/i,
  /Unrecognized key/i,
];
