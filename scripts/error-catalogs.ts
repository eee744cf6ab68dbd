/**
 * Every error code ekslink can print, gathered from each part's catalog. docs/errors.md is
 * generated from this list (`npm run docs:errors`), and a test keeps the two, and the codes
 * used in the source, in step. It lives beside scripts/errors-doc.ts, not in common/: it imports
 * every part's catalog, and common/ imports nothing above it.
 */
import { ERROR_CATALOG as demo } from '../demo/errors.js';
import { MSG } from '../provisioner/engine/messages.js';
import { ERROR_CATALOG as infra } from '../infra/lib/errors.js';
import { ERROR_CATALOG as peered } from '../provisioner/topologies/peered/errors.js';
import { ERROR_CATALOG as kubeconfig } from '../provisioner/kubeconfig/errors.js';
import { ERROR_CATALOG as provisioner } from '../provisioner/errors.js';
import { ERROR_CATALOG as wireguard } from '../provisioner/wireguard/errors.js';
import { ERROR_CATALOG as proxy } from '../proxy/errors.js';
import { ERROR_CATALOG as verify } from '../verify/errors.js';
import { EXIT_CODE_DOC } from '../common/exit-codes.js';

export interface CatalogSection {
  readonly title: string;
  readonly command: string;
  readonly codes: Readonly<Record<string, string>>;
}

const common: Record<string, string> = {
  EKL_CONFIG_INVALID:
    'A config file or CLI flag is invalid, or a file cannot be read. The message lists every problem at once, cross-field ones included, as `key.path: what is allowed, e.g. EXAMPLE (got VALUE)` (`--flag: …` for flags; a missing key says `is required`); fix each one and run again (`ekslink proxy --check-config FILE` for the proxy). Exit code 2.',
  EKL_USAGE:
    'The command line is not valid: an unknown command or flag, a missing required flag, a value not among the choices, or flags that exclude each other. The message names it; run the command with --help for its flags. Exit code 2.',
  EKL_INTERNAL:
    'An unexpected error: a bug in ekslink, not in your input. The message and stack trace are printed; report them with the command that was run. Exit code 1.',
  EKL_NODE_VERSION:
    'ekslink runs on Node.js 24 or newer. In a checkout use `npm run ekslink -- <command>` (npm puts the Node 24 from node_modules first); on a host, install Node.js 24 LTS.',
};

export const ERROR_SECTIONS: readonly CatalogSection[] = [
  { title: 'Any command', command: 'ekslink', codes: common },
  { title: 'Proxy data path', command: 'ekslink proxy', codes: proxy },
  { title: 'Provisioner', command: 'ekslink provision', codes: provisioner },
  { title: 'Peered topology', command: 'ekslink provision --topology peered', codes: peered },
  { title: 'WireGuard hop', command: 'ekslink wireguard', codes: wireguard },
  { title: 'Kubeconfig', command: 'ekslink kubeconfig', codes: kubeconfig },
  { title: 'Verify', command: 'ekslink verify', codes: verify },
  { title: 'Infra (CDK)', command: 'cdk synth / cdk deploy', codes: infra },
  { title: 'Demo', command: 'ekslink demo', codes: demo },
];

/** Codes of the provisioner's progress and result messages (`--output json` streams them). */
export const MESSAGE_CODES: readonly { code: string; level: string; description: string }[] =
  Object.values(MSG);

/** docs/errors.md, generated. */
export function renderErrorsDoc(): string {
  const out: string[] = [
    '# Error codes',
    '',
    '<!-- Generated from the error catalogs in the source by `npm run docs:errors`; do not edit by hand. -->',
    '',
    'Every error ekslink prints starts with a stable code (`error EKL_…: message`). Codes never change meaning;',
    'scripts and alerts may match on them. Proxy connection refusals also appear as the `reason` on the',
    "connection's log line and metrics (see [proxy.md](proxy.md) and [metrics.md](metrics.md)).",
    '',
  ];
  out.push(
    '## Exit codes',
    '',
    'The same for every command; argument-parser errors included. Under `--output json` an error is one JSON',
    'document on stdout, `{ "ok": false, "error": { "code", "message", "problems"? }, "exitCode" }`, with the',
    'same code and exit code as the text form (`error CODE: message` on stderr).',
    '',
    '| exit code | meaning |',
    '|---|---|',
    ...EXIT_CODE_DOC.map((e) => `| ${e.code} | ${e.meaning.replace(/\|/g, '\\|')} |`),
    '',
    'An error exits 2 when its cause is what was given: the flags, or a file they name (config, outputs,',
    'kubeconfig, CA, key), e.g. `EKL_CONFIG_INVALID`, `EKL_USAGE`, `EKL_WG_OUTPUTS_CONFLICT`,',
    '`EKL_PROVISION_UNKNOWN_TOPOLOGY`, `EKL_PROVISION_NOT_CONFIRMED`. It exits 1 when the operation itself',
    'failed: AWS answered with an error, a hop of the checked path failed, a proxy could not listen.',
    '',
  );
  for (const section of ERROR_SECTIONS) {
    out.push(`## ${section.title} (\`${section.command}\`)`, '', '| code | meaning and fix |', '|---|---|');
    for (const [code, text] of Object.entries(section.codes).sort(([a], [b]) => a.localeCompare(b))) {
      out.push(`| \`${code}\` | ${text.replace(/\|/g, '\\|').replace(/\n/g, ' ')} |`);
    }
    out.push('');
  }
  out.push(
    '## Provisioner messages (`ekslink provision … --output json`)',
    '',
    'Not errors: every line `plan`, `apply` and `destroy` print carries one of these codes, so scripts can',
    'follow a run without parsing prose. `EKL_PROV_E…` lines come with a non-zero exit code.',
    '',
    '| code | level | when |',
    '|---|---|---|',
    ...MESSAGE_CODES.map((m) => `| \`${m.code}\` | ${m.level} | ${m.description.replace(/\|/g, '\\|')} |`),
    '',
  );
  return out.join('\n');
}
