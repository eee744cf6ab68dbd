/**
 * Every schema's problems are in words: for each config schema, every key of a valid config
 * is removed and replaced by a value of each wrong kind, and every problem line must name
 * the key, say "required" for a missing one, and carry none of the validator's own phrases
 * ("Invalid input", "expected string, received number", "received undefined").
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type * as z from 'zod';
import { validateConfig } from '../../common/config-file.js';
import { ConfigError } from '../../common/errors.js';
import { RAW_VALIDATOR_PHRASES } from '../../common/zod-messages.js';
import { appConfigSchema } from '../../infra/lib/app-config.js';
import { kubeconfigInputSchema } from '../../provisioner/kubeconfig/input.js';
import { outputsFileSchema } from '../../provisioner/outputs-file.js';
import { gcpToAwsConfigSchema } from '../../provisioner/topologies/gcp-to-aws/config.js';
import { peeredConfigSchema } from '../../provisioner/topologies/peered/config.js';
import { wireguardConfigSchema } from '../../provisioner/wireguard/config.js';
import { proxyConfigSchema } from '../../proxy/config/schema.js';

const EKS = '0123456789abcdef0123456789abcdef.gr7.us-east-1.eks.amazonaws.com';
const VPCE = 'vpce-0123456789abcdef0-abcd1234.vpce-svc-0123456789abcdef0.us-east-1.vpce.amazonaws.com';
const account = (accountId: string) => ({ accountId, region: 'us-east-1', credentials: { profile: 'p' } });

const SCHEMAS: readonly { name: string; schema: z.ZodType; valid: unknown }[] = [
  {
    name: 'proxy config',
    schema: proxyConfigSchema,
    valid: {
      routes: [{ sni: EKS, upstreamPort: 443 }],
      allowedUpstreamCidrs: ['10.0.0.0/16'],
      listen: { port: 443 },
      dns: { servers: ['10.0.0.2'], timeoutMs: 2000, ipv6: false },
      proxyProtocol: { mode: 'required', allowedVpcEndpointIds: ['vpce-0123456789abcdef0'] },
      health: { port: 8080, deepProbe: { enabled: false } },
      workers: 2,
      log: { level: 'info' },
    },
  },
  {
    name: 'gcp-to-aws config',
    schema: gcpToAwsConfigSchema,
    valid: {
      deployment: 'acme-prod',
      eks: { hostname: EKS },
      provider: {
        ...account('123456789012'),
        vpcId: 'vpc-0abc1234def567890',
        subnetIds: ['subnet-0abc1234def567890'],
        nlb: { idleTimeoutSec: 3600, proxyProtocolV2: true },
      },
      consumer: {
        ...account('210987654321'),
        vpcId: 'vpc-0abc1234def567891',
        subnetIds: ['subnet-0abc1234def567891'],
        allowedCidrs: ['10.8.0.10/32'],
      },
    },
  },
  {
    name: 'peered config',
    schema: peeredConfigSchema,
    valid: {
      deployment: 'acme-peered',
      eks: { hostname: EKS, clusterSecurityGroupId: 'sg-0ddddddddddddddd4' },
      requester: {
        ...account('111111111111'),
        vpcId: 'vpc-0aaaaaaaaaaaaaaa1',
        cidr: '10.1.0.0/16',
        routeTableIds: ['rtb-0ccccccccccccccc3'],
      },
      accepter: {
        ...account('222222222222'),
        vpcId: 'vpc-0bbbbbbbbbbbbbbb2',
        cidr: '10.2.0.0/16',
        routeTableIds: ['rtb-0ccccccccccccccc4'],
      },
    },
  },
  {
    name: 'wireguard render config',
    schema: wireguardConfigSchema,
    valid: {
      gcp: { tunnelAddress: '10.200.0.2' },
      aws: { tunnelAddress: '10.200.0.1', endpointHost: '203.0.113.10', listenPort: 51820 },
      vpcEndpoint: { addresses: ['10.0.1.23'] },
      mtu: 1380,
    },
  },
  {
    name: 'kubeconfig flags',
    schema: kubeconfigInputSchema,
    valid: {
      topology: 'gcp-to-aws',
      server: VPCE,
      eksHostname: EKS,
      caData: 'QUJD',
      clusterName: 'prod',
      region: 'us-east-1',
    },
  },
  {
    name: 'provision outputs file',
    schema: outputsFileSchema,
    // What a real `provision apply` against moto wrote (infra/examples/provision-outputs.json).
    valid: JSON.parse(readFileSync('infra/examples/provision-outputs.json', 'utf8')) as unknown,
  },
  {
    name: 'infra app config',
    schema: appConfigSchema,
    valid: JSON.parse(readFileSync('infra/examples/topology1.json', 'utf8')) as unknown,
  },
];

const WRONG: readonly { label: string; value: unknown }[] = [
  { label: 'missing', value: undefined },
  { label: 'a number', value: 123456789012 },
  { label: 'text', value: 'x' },
  { label: 'a boolean', value: true },
  { label: 'a list', value: [] },
  { label: 'a mapping', value: {} },
];

/** Every key path of a value: objects by key, lists by their first item. */
function paths(value: unknown, prefix: PropertyKey[] = []): PropertyKey[][] {
  if (Array.isArray(value))
    return value.length === 0 ? [] : [[...prefix, 0], ...paths(value[0], [...prefix, 0])];
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => [[...prefix, k], ...paths(v, [...prefix, k])]);
}

function withValue(base: unknown, path: readonly PropertyKey[], value: unknown): unknown {
  const copy = structuredClone(base) as Record<PropertyKey, unknown>;
  let cur = copy;
  for (const key of path.slice(0, -1)) cur = cur[key] as Record<PropertyKey, unknown>;
  const last = path.at(-1) as PropertyKey;
  if (value === undefined && !Array.isArray(cur)) delete cur[last];
  else cur[last] = value;
  return copy;
}

function problems(schema: z.ZodType, data: unknown): readonly string[] {
  try {
    validateConfig(schema, data, 'the file');
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
}

describe('schema problems in words', () => {
  it.each(SCHEMAS)('$name: the valid example passes', ({ schema, valid }) => {
    expect(problems(schema, valid)).toEqual([]);
  });

  it.each(SCHEMAS)(
    '$name: every key, missing or of each wrong kind, gets a human message',
    ({ schema, valid }) => {
      const raw: string[] = [];
      let cases = 0;
      for (const path of paths(valid)) {
        for (const wrong of WRONG) {
          const lines = problems(schema, withValue(valid, path, wrong.value));
          cases += 1;
          for (const line of lines) {
            if (RAW_VALIDATOR_PHRASES.some((p) => p.test(line)))
              raw.push(`${String(path.join('.'))} ${wrong.label}: ${line}`);
            expect(line).toMatch(/^\S[^:]*: \S/);
            expect(line).not.toMatch(/got nothing|received undefined/);
          }
          const key = path
            .map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? String(k) : `.${String(k)}`))
            .join('');
          const own = lines.filter((l) => l.startsWith(`${key}: `));
          if (wrong.value === undefined) for (const l of own) expect(l).toMatch(/\brequired\b/);
        }
      }
      expect(raw).toEqual([]);
      expect(cases).toBeGreaterThan(20);
    },
  );
});
