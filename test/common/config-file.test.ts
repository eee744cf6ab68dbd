import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { formatIssuePath, loadConfigFile, validateConfig } from '../../common/config-file.js';
import { ConfigError } from '../../common/errors.js';

const schema = z
  .object({
    name: z.string().regex(/^[a-z]+$/, { message: 'must be lower-case letters, e.g. "prod"' }),
    items: z.array(
      z.object({ port: z.number().int().max(65535, { message: 'must be at most 65535, e.g. 443' }) }),
    ),
  })
  .strict();

async function tempFile(name: string, text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ekslink-config-'));
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

describe('config files', () => {
  it('formats paths the way YAML users write them', () => {
    expect(formatIssuePath(['routes', 0, 'sni'])).toBe('routes[0].sni');
    expect(formatIssuePath([])).toBe('(top level)');
  });

  it('reads YAML and JSON to the same value', async () => {
    const yamlPath = await tempFile('a.yaml', 'name: prod\nitems:\n  - port: 443\n');
    const jsonPath = await tempFile('a.json', '{"name":"prod","items":[{"port":443}]}');
    expect(await loadConfigFile(yamlPath, schema)).toEqual(await loadConfigFile(jsonPath, schema));
  });

  it('lists every problem with its key, the value received and the fix', () => {
    let caught: unknown;
    try {
      validateConfig(schema, { name: 'Prod1', items: [{ port: 70000 }], extra: true }, 'config file x.yaml');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const err = caught as ConfigError;
    expect(err.code).toBe('EKL_CONFIG_INVALID');
    expect(err.problems).toHaveLength(3);
    expect(err.problems).toContain('name: must be lower-case letters, e.g. "prod" (got "Prod1")');
    expect(err.problems).toContain('items[0].port: must be at most 65535, e.g. 443 (got 70000)');
    expect(err.problems).toContain(
      '(top level): unknown key "extra": check the spelling (keys are case-sensitive) or remove it',
    );
    expect(err.message).toContain('config file x.yaml is not valid (3 problems)');
  });

  it('names a file that cannot be read, a wrong extension and broken YAML', async () => {
    await expect(loadConfigFile('/nonexistent/ekslink.yaml', schema)).rejects.toThrow(
      'config file /nonexistent/ekslink.yaml does not exist: check the path and the current directory',
    );
    const dir = await mkdtemp(join(tmpdir(), 'ekslink-config-dir-'));
    await expect(loadConfigFile(dir, schema)).rejects.toThrow(
      `config file ${dir} is a directory: give the YAML or JSON file inside it, e.g. ${dir}/ekslink.yaml`,
    );
    // A broken .json file gets the JSON parser's message (what it expected, where), not YAML's.
    const broken = await tempFile('d.json', '{"name": "prod",\n "items": [}\n');
    const jsonError = (await loadConfigFile(broken, schema).catch((err: unknown) => err)) as ConfigError;
    expect(jsonError).toBeInstanceOf(ConfigError);
    expect(jsonError.message).toMatch(
      /^config file .*d\.json is not valid JSON: Unexpected token .*near line 2 column 12/,
    );
    expect(jsonError.message).not.toContain('YAML');
    // YAML alone would take this as { a: "tru" }; a .json file must be JSON.
    await expect(loadConfigFile(await tempFile('e.json', '{"name": tru}'), schema)).rejects.toThrow(
      /e\.json is not valid JSON: Unexpected token/,
    );
    await expect(loadConfigFile(await tempFile('a.toml', 'x'), schema)).rejects.toThrow(
      /use \.yaml, \.yml or \.json/,
    );
    await expect(loadConfigFile(await tempFile('b.yaml', 'name: [unclosed\n'), schema)).rejects.toThrow(
      /is not valid YAML or JSON/,
    );
    await expect(
      loadConfigFile(await tempFile('c.yaml', 'name: a\nname: b\nitems: []\n'), schema),
    ).rejects.toThrow(/not valid YAML/);
  });
});
