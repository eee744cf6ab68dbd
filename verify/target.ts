import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { dirname, resolve as resolvePath } from 'node:path';
import * as z from 'zod';
import { parseConfigText, validateConfig } from '../common/config-file.js';
import { eksDomainProblem } from '../common/eks-hostname.js';
import { ConfigError, UsageError } from '../common/errors.js';
import type { VerifyTarget } from './types.js';

/** Flags of `ekslink verify` that say what to check; any of them overrides the kubeconfig. */
export interface TargetFlags {
  readonly server?: string;
  readonly tlsServerName?: string;
  readonly caFile?: string;
  readonly kubeconfig?: string;
  readonly context?: string;
}

/**
 * Parse `HOST`, `HOST:PORT`, `[IPv6]:PORT` or a kubeconfig-style `https://HOST[:PORT][/path]`.
 * The port defaults to 443.
 */
export function parseServer(value: string): { host: string; port: number } {
  const text = value.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `https://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new UsageError(
      `--server "${value}" is not HOST[:PORT]; e.g. --server vpce-0abc.vpce-svc-0def.eu-west-1.vpce.amazonaws.com:443`,
    );
  }
  if (url.protocol !== 'https:') {
    throw new UsageError(`--server "${value}": only https:// is checked; e.g. --server https://${url.host}`);
  }
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  if (host === '')
    throw new UsageError(`--server "${value}" has no host; e.g. --server example.eks.amazonaws.com:443`);
  return { host, port: url.port === '' ? 443 : Number(url.port) };
}

const tlsServerNameSchema = z
  .string()
  .refine(
    (v) => isIP(v) === 0,
    'must be a DNS name, not an IP address (SNI cannot carry one), e.g. ABCDEF.gr7.eu-west-1.eks.amazonaws.com',
  )
  .regex(
    /^(?=.{1,253}$)([a-z0-9*]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i,
    'must be a DNS name (SNI cannot be an IP address), e.g. ABCDEF.gr7.eu-west-1.eks.amazonaws.com',
  )
  .superRefine((v, ctx) => {
    const problem = eksDomainProblem(v);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  });

const kubeconfigSchema = z.object({
  'current-context': z.string().optional(),
  clusters: z
    .array(
      z.object({
        name: z.string(),
        cluster: z.object({
          server: z.string({ error: 'a cluster needs server: https://HOST[:PORT]' }),
          'tls-server-name': z.string().optional(),
          'certificate-authority': z.string().optional(),
          'certificate-authority-data': z.string().optional(),
        }),
      }),
    )
    .min(1, 'a kubeconfig needs at least one cluster'),
  contexts: z.array(z.object({ name: z.string(), context: z.object({ cluster: z.string() }) })).default([]),
});

interface KubeconfigCluster {
  readonly server: string;
  readonly tlsServerName?: string;
  readonly caPem?: string;
  readonly caSource?: string;
  readonly source: string;
}

/** Read the cluster of a context (default: current-context) from a kubeconfig file. */
export async function readKubeconfigCluster(path: string, context?: string): Promise<KubeconfigCluster> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `kubeconfig ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'EIO'})`,
      [],
      {
        cause: err,
      },
    );
  }
  const doc = validateConfig(
    kubeconfigSchema,
    parseConfigText(text, `kubeconfig ${path}`),
    `kubeconfig ${path}`,
  );
  const contextName = context ?? doc['current-context'];
  let clusterName: string;
  if (contextName === undefined || contextName === '') {
    if (doc.clusters.length !== 1) {
      throw new ConfigError(
        `kubeconfig ${path} has no current-context and ${doc.clusters.length} clusters; pick one with --context NAME`,
      );
    }
    clusterName = doc.clusters[0]!.name;
  } else {
    const ctx = doc.contexts.find((c) => c.name === contextName);
    if (!ctx) {
      const names = doc.contexts.map((c) => c.name).join(', ') || '(none)';
      throw new ConfigError(`kubeconfig ${path}: context "${contextName}" not found; contexts: ${names}`);
    }
    clusterName = ctx.context.cluster;
  }
  const entry = doc.clusters.find((c) => c.name === clusterName);
  if (!entry)
    throw new ConfigError(`kubeconfig ${path}: cluster "${clusterName}" (from the context) not found`);
  const c = entry.cluster;
  const source = `kubeconfig ${path} cluster ${clusterName}`;
  let caPem: string | undefined;
  let caSource: string | undefined;
  if (c['certificate-authority-data'] !== undefined) {
    caPem = Buffer.from(c['certificate-authority-data'], 'base64').toString('utf8');
    caSource = `${source} (certificate-authority-data)`;
    if (!caPem.includes('-----BEGIN CERTIFICATE-----')) {
      throw new ConfigError(`${source}: certificate-authority-data is not base64 of a PEM certificate`);
    }
  } else if (c['certificate-authority'] !== undefined) {
    const caPath = resolvePath(dirname(path), c['certificate-authority']);
    caPem = await readCaFile(caPath);
    caSource = caPath;
  }
  return { server: c.server, tlsServerName: c['tls-server-name'], caPem, caSource, source };
}

/** Read a PEM CA bundle; a file without a certificate in it is a ConfigError. */
export async function readCaFile(path: string): Promise<string> {
  let pem: string;
  try {
    pem = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `CA file ${path} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'EIO'})`,
      [],
      {
        cause: err,
      },
    );
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new ConfigError(`CA file ${path} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  }
  return pem;
}

/** Build the target from flags, with a kubeconfig filling in what the flags leave out. */
export async function resolveTarget(flags: TargetFlags): Promise<VerifyTarget> {
  const kube =
    flags.kubeconfig === undefined ? undefined : await readKubeconfigCluster(flags.kubeconfig, flags.context);
  if (flags.context !== undefined && flags.kubeconfig === undefined) {
    throw new UsageError('--context needs --kubeconfig FILE');
  }
  const server = flags.server ?? kube?.server;
  if (server === undefined) {
    throw new UsageError(
      'say what to check: --server HOST[:PORT] (with --tls-server-name and --ca-file), or --kubeconfig FILE',
    );
  }
  const { host, port } = parseServer(server);
  const tlsServerName = flags.tlsServerName ?? kube?.tlsServerName ?? (isIP(host) === 0 ? host : undefined);
  if (tlsServerName !== undefined) {
    const checked = tlsServerNameSchema.safeParse(tlsServerName);
    if (!checked.success) {
      throw new UsageError(
        `--tls-server-name "${tlsServerName}": ${checked.error.issues[0]?.message ?? 'invalid'}`,
      );
    }
  }
  const caPem = flags.caFile === undefined ? kube?.caPem : await readCaFile(flags.caFile);
  const caSource = flags.caFile ?? kube?.caSource;
  const source =
    flags.server === undefined && kube ? kube.source : flags.kubeconfig ? `flags + ${kube?.source}` : 'flags';
  return { host, port, tlsServerName, caPem, caSource, source };
}
