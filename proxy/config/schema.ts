/**
 * The proxy's config file schema (YAML or JSON). Every key, its default and an example
 * are documented in docs/proxy-config.md; `ekslink proxy --check-config FILE` validates.
 * Durations carry their unit in the key name. Over 300 lines: one schema, key after key with
 * its default and its message.
 */
import { isIP } from 'node:net';
import { cpus } from 'node:os';
import * as z from 'zod';
import { parseCidr } from '../../common/cidr.js';
import { loadConfigFile, validateConfig, whenParsed } from '../../common/config-file.js';
import { eksDomainProblem } from '../../common/eks-hostname.js';
import { isNonPublicCidr } from '../upstream/address-policy.js';

const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
const EXAMPLE_HOST = '"0123456789ABCDEF0123456789ABCDEF.gr7.us-east-1.eks.amazonaws.com"';

const hostname = z
  .string()
  .transform((s) => s.toLowerCase().replace(/\.$/, ''))
  .refine((s) => HOSTNAME.test(s) && isIP(s) === 0, {
    message: `must be a DNS hostname (letters, digits, hyphens, dots; no IP address, no wildcard), e.g. ${EXAMPLE_HOST}`,
  });

const port = (what: string) =>
  z
    .number({ message: `${what} must be a whole number from 1 to 65535, e.g. 443` })
    .int({ message: `${what} must be a whole number from 1 to 65535, e.g. 443` })
    .min(1, { message: `${what} must be from 1 to 65535, e.g. 443` })
    .max(65535, { message: `${what} must be from 1 to 65535, e.g. 443` });

const listenPort = (what: string, example: number) =>
  z
    .number({ message: `${what} must be a whole number from 0 to 65535, e.g. ${example}` })
    .int({ message: `${what} must be a whole number from 0 to 65535, e.g. ${example}` })
    .min(0, { message: `${what} must be from 0 to 65535 (0 picks a free port), e.g. ${example}` })
    .max(65535, { message: `${what} must be from 0 to 65535, e.g. ${example}` });

const duration = (what: string, min: number, max: number, example: number) =>
  z
    .number({ message: `${what} must be a number from ${min} to ${max}, e.g. ${example}` })
    .int({ message: `${what} must be a whole number from ${min} to ${max}, e.g. ${example}` })
    .min(min, { message: `${what} must be at least ${min}, e.g. ${example}` })
    .max(max, { message: `${what} must be at most ${max}, e.g. ${example}` });

const ipAddress = z.string().refine((s) => isIP(s) !== 0, {
  message: 'must be an IPv4 or IPv6 address, e.g. "10.0.0.2" or "fd00::2"',
});

/**
 * `workers: auto`: one process per two vCPUs, and one (in-process, no cluster) up to 3.
 * Measured with `npm run bench` on 2 vCPUs (docs/benchmark.md): two workers there cost
 * 1.8x the CPU per connection of one and 2.2x the memory, and carry no more connections,
 * because the kernel's own TCP work (softirq) and V8's GC threads need the second vCPU.
 * Above 2 vCPUs it keeps that ratio (not measured here).
 */
export function autoWorkers(vcpus: number): number {
  return Math.max(1, Math.floor(vcpus / 2));
}
/** `a.b.c.d/n` or `v6/n`, parsed by the same code the address policy uses (common/cidr.ts). */
export const cidrString = z.string().refine((s) => parseCidr(s) !== undefined, {
  message: 'must be a CIDR block like "10.0.0.0/16" or "fd00::/8"',
});

const vpcEndpointId = z.string().regex(/^vpce-[0-9a-f]{8,17}$/, {
  message: 'must be a VPC endpoint ID like "vpce-0123456789abcdef0"',
});

export const routeSchema = z
  .object({
    /** The TLS SNI clients send: the EKS private API hostname. */
    sni: hostname.superRefine((h, ctx) => {
      const problem = eksDomainProblem(h);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
    }),
    /** Hostname re-resolved on every connection. @default the SNI */
    upstreamHost: hostname.optional(),
    /** @default 443 */
    upstreamPort: port('upstreamPort').default(443),
    /** Bounded metric label for this route. @default the SNI's first label */
    name: z
      .string()
      .regex(/^[a-zA-Z0-9_.-]{1,64}$/, { message: 'must be 1-64 of [a-zA-Z0-9_.-], e.g. "prod-cluster"' })
      .optional(),
  })
  .strict()
  .transform((r) => ({
    sni: r.sni,
    upstreamHost: r.upstreamHost ?? r.sni,
    upstreamPort: r.upstreamPort,
    name: r.name ?? (r.sni.split('.')[0] as string).slice(0, 64),
  }));

export type Route = z.output<typeof routeSchema>;

export const proxyConfigSchema = z
  .object({
    listen: z
      .object({
        host: ipAddress.default('0.0.0.0'),
        port: listenPort('listen.port', 443).default(443),
        /** Backlog of not-yet-accepted connections. @default 511 */
        backlog: duration('listen.backlog', 1, 65535, 511).default(511),
      })
      .strict()
      .default({ host: '0.0.0.0', port: 443, backlog: 511 }),
    routes: z
      .array(routeSchema, {
        message: `routes must be a list of { sni, upstreamHost?, upstreamPort? }, e.g. routes: [{ sni: ${EXAMPLE_HOST} }]`,
      })
      .min(1, {
        message: `routes must name at least one allowed SNI, e.g. routes: [{ sni: ${EXAMPLE_HOST} }]`,
      }),
    /** Route (by `name`) for ClientHellos without SNI. Off unless set. */
    defaultRoute: z.string().optional(),
    /**
     * Upstream addresses must fall inside one of these blocks (the EKS control-plane ENIs'
     * subnets, or the VPC CIDR). Loopback and link-local are never dialled unless a block
     * names them exactly (tests and the demo only).
     */
    allowedUpstreamCidrs: z.array(cidrString).min(1, {
      message: 'allowedUpstreamCidrs must list at least one block, e.g. ["10.0.0.0/16"] (your VPC CIDR)',
    }),
    /**
     * Allow blocks that reach public addresses (a VPC that uses a public range privately,
     * or global IPv6 VPC ranges). Off: every block must be private address space. @default false
     */
    allowPublicUpstreamCidrs: z.boolean().default(false),
    dns: z
      .object({
        /** `host` or `host:port` or `[v6]:port`. @default the system's resolvers */
        servers: z.array(z.string().min(1)).default([]),
        /** Per-query timeout. @default 2000 */
        timeoutMs: duration('dns.timeoutMs', 50, 60_000, 2000).default(2000),
        /** Tries per server. @default 2 */
        tries: duration('dns.tries', 1, 10, 2).default(2),
        /** How long the last good answer may serve while DNS fails; 0 disables. @default 30000 */
        staleMaxAgeMs: duration('dns.staleMaxAgeMs', 0, 3_600_000, 30_000).default(30_000),
        /**
         * With a last good answer, wait this long for DNS, then serve that answer and let
         * the query refresh it in the background (RFC 8767's client response timeout). @default 300
         */
        serveStaleAfterMs: duration('dns.serveStaleAfterMs', 10, 60_000, 300).default(300),
        /**
         * Lookups of one name within this long after an answer (or a failure) share it, so
         * DNS sees at most 1000 / shareWindowMs queries per second per name and type. @default 100
         */
        shareWindowMs: duration('dns.shareWindowMs', 0, 5000, 100).default(100),
        /** Look up AAAA as well as A. @default false */
        ipv6: z.boolean().default(false),
      })
      .strict()
      .default({
        servers: [],
        timeoutMs: 2000,
        tries: 2,
        staleMaxAgeMs: 30_000,
        serveStaleAfterMs: 300,
        shareWindowMs: 100,
        ipv6: false,
      }),
    clientHello: z
      .object({
        /** @default 16384 */
        maxBytes: duration('clientHello.maxBytes', 512, 65_536, 16_384).default(16_384),
        /** @default 5000 */
        timeoutMs: duration('clientHello.timeoutMs', 100, 60_000, 5000).default(5000),
      })
      .strict()
      .default({ maxBytes: 16_384, timeoutMs: 5000 }),
    upstream: z
      .object({
        /** Per-address connect timeout. @default 2000 */
        connectTimeoutMs: duration('upstream.connectTimeoutMs', 50, 60_000, 2000).default(2000),
        /** How long a failed address is tried last. @default 30000 */
        failureMemoryMs: duration('upstream.failureMemoryMs', 0, 600_000, 30_000).default(30_000),
      })
      .strict()
      .default({ connectTimeoutMs: 2000, failureMemoryMs: 30_000 }),
    connections: z
      .object({
        /** Concurrent connections per worker; beyond it new ones are closed at once. @default 10000 */
        max: duration('connections.max', 1, 1_000_000, 10_000).default(10_000),
        /** TCP keepalive initial delay, both sides (NLB idles out flows at 350 s). @default 60000 */
        keepAliveInitialDelayMs: duration(
          'connections.keepAliveInitialDelayMs',
          1000,
          340_000,
          60_000,
        ).default(60_000),
        /** Then a probe every this long while unanswered (TCP_KEEPINTVL). @default 15000 */
        keepAliveIntervalMs: duration('connections.keepAliveIntervalMs', 1000, 300_000, 15_000).default(
          15_000,
        ),
        /** Unanswered probes before the kernel ends the connection (TCP_KEEPCNT). @default 4 */
        keepAliveCount: duration('connections.keepAliveCount', 1, 127, 4).default(4),
        /** Close connections idle this long; 0 = never (kube watches idle for minutes). @default 0 */
        idleTimeoutMs: duration('connections.idleTimeoutMs', 0, 86_400_000, 0).default(0),
        /**
         * After one side has sent its FIN, how long the other direction may stay open
         * before both sockets are closed; 0 = no limit. @default 60000
         */
        halfCloseTimeoutMs: duration('connections.halfCloseTimeoutMs', 0, 86_400_000, 60_000).default(60_000),
      })
      .strict()
      .default({
        max: 10_000,
        keepAliveInitialDelayMs: 60_000,
        keepAliveIntervalMs: 15_000,
        keepAliveCount: 4,
        idleTimeoutMs: 0,
        halfCloseTimeoutMs: 60_000,
      }),
    proxyProtocol: z
      .object({
        /** `required` when the NLB target group has proxy_protocol_v2.enabled. @default off */
        mode: z
          .enum(['off', 'required'], { message: 'proxyProtocol.mode must be "off" or "required"' })
          .default('off'),
        /** Only these PrivateLink endpoints may connect (PP2 TLV 0xEA/0x01). @default any */
        allowedVpcEndpointIds: z.array(vpcEndpointId).default([]),
        /** @default 3000 */
        timeoutMs: duration('proxyProtocol.timeoutMs', 100, 60_000, 3000).default(3000),
      })
      .strict()
      .default({ mode: 'off', allowedVpcEndpointIds: [], timeoutMs: 3000 }),
    health: z
      .object({
        host: ipAddress.default('0.0.0.0'),
        /** /healthz, /readyz, /metrics. @default 8080 */
        port: listenPort('health.port', 8080).default(8080),
        /** Background probe period. @default 5000 */
        probeIntervalMs: duration('health.probeIntervalMs', 100, 300_000, 5000).default(5000),
        /** @default 1 */
        successThreshold: duration('health.successThreshold', 1, 20, 1).default(1),
        /** @default 3 */
        failureThreshold: duration('health.failureThreshold', 1, 20, 3).default(3),
        /** Optional HTTPS GET /readyz to the upstream with the route's SNI, verified with this CA. */
        deepProbe: z
          .object({
            enabled: z.boolean().default(false),
            /** PEM file with the cluster CA. */
            caFile: z.string().min(1).optional(),
            /** @default /readyz */
            path: z.string().startsWith('/').default('/readyz'),
          })
          .strict()
          .refine((d) => !d.enabled || d.caFile !== undefined, {
            message:
              'health.deepProbe.caFile is required when deepProbe is enabled, e.g. caFile: /etc/ekslink/cluster-ca.pem',
          })
          .default({ enabled: false, path: '/readyz' }),
      })
      .strict()
      .default({
        host: '0.0.0.0',
        port: 8080,
        probeIntervalMs: 5000,
        successThreshold: 1,
        failureThreshold: 3,
        deepProbe: { enabled: false, path: '/readyz' },
      }),
    drain: z
      .object({
        /** After SIGTERM, keep accepting while the NLB notices /readyz failing. @default 15 */
        graceSec: duration('drain.graceSec', 0, 3600, 15).default(15),
        /** Then existing connections get this long before being destroyed. @default 300 */
        deadlineSec: duration('drain.deadlineSec', 0, 86_400, 300).default(300),
      })
      .strict()
      .default({ graceSec: 15, deadlineSec: 300 }),
    /** Worker processes sharing the port; "auto" = autoWorkers(vCPUs): 1 up to 3 vCPUs. @default auto */
    workers: z
      .union([z.literal('auto'), duration('workers', 1, 256, 2)])
      .default('auto')
      .transform((w) => (w === 'auto' ? autoWorkers(cpus().length) : w)),
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      })
      .strict()
      .default({ level: 'info' }),
  })
  .strict()
  .superRefine(
    (cfg, ctx) => {
      const seen = new Map<string, number>();
      cfg.routes.forEach((r, i) => {
        const prev = seen.get(r.sni);
        if (prev !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['routes', i, 'sni'],
            message: `duplicates routes[${prev}].sni; each SNI may appear once`,
          });
        }
        seen.set(r.sni, i);
      });
      const names = new Set(cfg.routes.map((r) => r.name));
      if (names.size !== cfg.routes.length) {
        ctx.addIssue({
          code: 'custom',
          path: ['routes'],
          message: 'route names must be unique; set `name` on each route',
        });
      }
      if (cfg.defaultRoute !== undefined && !names.has(cfg.defaultRoute)) {
        ctx.addIssue({
          code: 'custom',
          path: ['defaultRoute'],
          message: `must be the name of a route (${[...names].join(', ')}); omit it to refuse clients without SNI`,
        });
      }
      if (!cfg.allowPublicUpstreamCidrs) {
        cfg.allowedUpstreamCidrs.forEach((cidr, i) => {
          if (isNonPublicCidr(cidr) !== false) return;
          ctx.addIssue({
            code: 'custom',
            path: ['allowedUpstreamCidrs', i],
            message:
              'reaches public internet addresses; list your VPC CIDR or the EKS subnets (e.g. "10.0.0.0/16"), ' +
              'or set allowPublicUpstreamCidrs: true if your VPC really uses this range',
          });
        });
      }
      if (cfg.proxyProtocol.allowedVpcEndpointIds.length > 0 && cfg.proxyProtocol.mode !== 'required') {
        ctx.addIssue({
          code: 'custom',
          path: ['proxyProtocol', 'allowedVpcEndpointIds'],
          message: 'needs proxyProtocol.mode: required (the endpoint ID arrives in the PROXY v2 header)',
        });
      }
    },
    whenParsed(
      ['routes'],
      ['defaultRoute'],
      ['allowedUpstreamCidrs'],
      ['allowPublicUpstreamCidrs'],
      ['proxyProtocol'],
    ),
  );

export type ProxyConfig = z.output<typeof proxyConfigSchema>;
/** The file's shape before defaults: what a person (or the CDK stack) writes. */
export type ProxyConfigInput = z.input<typeof proxyConfigSchema>;

export function parseProxyConfig(data: unknown, origin = 'proxy config'): ProxyConfig {
  return validateConfig(proxyConfigSchema, data, origin);
}

export function loadProxyConfig(path: string): Promise<ProxyConfig> {
  return loadConfigFile(path, proxyConfigSchema);
}
