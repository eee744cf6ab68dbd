/**
 * Every command of the real CLI (the bundle, as users run it) with bad usage and bad input:
 * unknown flags, missing required flags, a bad value of each option type, and each kind of
 * bad file. Each case asserts the exit code (2 for usage and input, 1 for a failed check, 0
 * for help), the error code, that JSON output mode prints the error as JSON, and that no
 * message carries the validator's own phrases.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { RAW_VALIDATOR_PHRASES } from '../../common/zod-messages.js';
import { TOPOLOGIES as KUBECONFIG_TOPOLOGIES } from '../../provisioner/kubeconfig/input.js';
import { TOPOLOGIES } from '../../provisioner/topologies/index.js';
import { nodeVersionProblem } from '../../cli/node-version.js';
import { TOPOLOGY_NAMES } from '../../cli/topology-names.js';
import { BUNDLE, NODE, ROOT, requireBundle } from '../proxy/lifecycle-harness.js';

const exec = promisify(execFile);
const EKS_HOST = '0123456789abcdef0123456789abcdef.gr7.us-east-1.eks.amazonaws.com';
const VPCE_DNS = 'vpce-0123456789abcdef0-abcd1234.vpce-svc-0123456789abcdef0.us-east-1.vpce.amazonaws.com';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function ekslink(args: readonly string[]): Promise<Run> {
  try {
    const { stdout, stderr } = await exec(NODE, [BUNDLE, ...args], {
      timeout: 50_000,
      env: { ...process.env, CI: '1' },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

let dir = '';
const file = (name: string, text: string): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

/** A gcp-to-aws config with one problem of each kind, and two cross-field ones. */
const BAD_GCP_TO_AWS = `deployment: acme-prod
eks:
  hostname: ${EKS_HOST}
provider:
  accountId: 123456789012
  region: us-east-1
  vpcId: vpc-0abc1234def567890
  subnetIds: [subnet-0abc1234def567890]
  nlb:
    idleTimeoutSec: "3600"
consumer:
  accountId: "210987654321"
  region: eu-west-1
  subnetIds: subnet-0abc1234def567890
  allowedCidrs: [10.0.0.0/1]
`;

const BAD_PEERED = `deployment: acme
requester:
  accountId: "111111111111"
  region: us-east-1
  vpcId: vpc-0abc1234def567890
  cidr: 10.1.0.0/16
  routeTableIds: [rtb-0abc1234def567890]
accepter:
  accountId: "111111111111"
  region: us-east-1
  vpcId: vpc-0abc1234def567899
  cidr: 10.1.0.0/16
  routeTableIds: []
  extra: 1
`;

const BAD_PROXY = `routes:
  - sni: ${EKS_HOST}
allowedUpstreamCidrs: 10.0.0.0/16
workers: many
listen:
  port: "443"
dns:
  ipv6: "yes"
`;

interface Case {
  readonly name: string;
  readonly args: () => string[];
  readonly exit: number;
  readonly code?: string;
  /** Fragments the error output must contain. */
  readonly says?: readonly string[];
  /** The error comes as JSON on stdout. */
  readonly json?: boolean;
}

const gcpConfig = () => file('gcp.yaml', BAD_GCP_TO_AWS);
const plan = ['provision', 'plan', '--topology', 'gcp-to-aws', '--config'];

const CASES: readonly Case[] = [
  // Unknown flags and commands, missing required flags: the parser's errors.
  {
    name: 'proxy: unknown flag',
    args: () => ['proxy', '--cofig', 'x'],
    exit: 2,
    code: 'EKL_USAGE',
    says: ["unknown option '--cofig' (Did you mean --config?)", '`ekslink proxy --help`'],
  },
  {
    name: 'unknown command',
    args: () => ['provison'],
    exit: 2,
    code: 'EKL_USAGE',
    says: ['(Did you mean provision?)'],
  },
  { name: 'no command', args: () => [], exit: 2, code: 'EKL_USAGE', says: ['ekslink needs a command'] },
  { name: 'provision: no subcommand', args: () => ['provision'], exit: 2, code: 'EKL_USAGE' },
  {
    name: 'provision plan: missing --topology',
    args: () => ['provision', 'plan', '--config', 'x.yaml'],
    exit: 2,
    code: 'EKL_USAGE',
    says: ["required option '--topology <name>' not specified"],
  },
  {
    name: 'provision apply: missing --config',
    args: () => ['provision', 'apply', '--topology', 'gcp-to-aws'],
    exit: 2,
    code: 'EKL_USAGE',
    says: ['--config'],
  },
  {
    name: 'provision destroy: unknown flag',
    args: () => ['provision', 'destroy', '--topology', 'peered', '--config', 'x.yaml', '--force'],
    exit: 2,
    code: 'EKL_USAGE',
    says: ["unknown option '--force'"],
  },
  {
    name: 'provision plan: --output not a choice',
    args: () => [...plan, 'x.yaml', '--output', 'yaml'],
    exit: 2,
    code: 'EKL_USAGE',
    says: ["argument 'yaml' is invalid. Allowed choices are text, json"],
  },
  {
    name: 'provision plan --output json: a parser error is JSON',
    args: () => [...plan, 'x.yaml', '--output', 'json', '--bogus'],
    exit: 2,
    code: 'EKL_USAGE',
    json: true,
    says: ["unknown option '--bogus'"],
  },
  {
    name: 'iam-policy: missing --account',
    args: () => ['provision', 'iam-policy', '--topology', 'gcp-to-aws'],
    exit: 2,
    code: 'EKL_USAGE',
    says: ['--account'],
  },
  {
    name: 'iam-policy: --partition not a choice',
    args: () => [
      'provision',
      'iam-policy',
      '--topology',
      'gcp-to-aws',
      '--account',
      'provider',
      '--partition',
      'aws-iso',
    ],
    exit: 2,
    code: 'EKL_USAGE',
    says: ['Allowed choices are aws, aws-cn, aws-us-gov'],
  },
  {
    name: 'iam-policy: --account not of the topology',
    args: () => ['provision', 'iam-policy', '--topology', 'gcp-to-aws', '--account', 'nobody'],
    exit: 2,
    code: 'EKL_CONFIG_INVALID',
    says: ['use one of: provider, consumer'],
  },
  {
    name: 'provision: unknown topology',
    args: () => ['provision', 'plan', '--topology', 'nope', '--config', 'x.yaml'],
    exit: 2,
    code: 'EKL_PROVISION_UNKNOWN_TOPOLOGY',
    says: ['use one of: gcp-to-aws, peered'],
  },
  {
    name: 'wireguard render: missing --config',
    args: () => ['wireguard', 'render', '--out-dir', dir],
    exit: 2,
    code: 'EKL_USAGE',
    says: ['--config'],
  },
  {
    name: 'wireguard keygen: missing --private-key-file',
    args: () => ['wireguard', 'keygen'],
    exit: 2,
    code: 'EKL_USAGE',
    says: ['--private-key-file'],
  },
  {
    name: 'kubeconfig: missing --cluster-name',
    args: () => ['kubeconfig', '--topology', 'peered'],
    exit: 2,
    code: 'EKL_USAGE',
    says: ['--cluster-name'],
  },
  {
    name: 'kubeconfig: --topology not a choice',
    args: () => ['kubeconfig', '--topology', 'gcp', '--cluster-name', 'p'],
    exit: 2,
    code: 'EKL_USAGE',
    says: ['Allowed choices are gcp-to-aws, peered'],
  },
  {
    name: 'verify: unknown flag',
    args: () => ['verify', '--sever', 'x'],
    exit: 2,
    code: 'EKL_USAGE',
    says: ['(Did you mean --server?)'],
  },
  {
    name: 'verify --output json: unknown flag is JSON',
    args: () => ['verify', '--output', 'json', '--sever', 'x'],
    exit: 2,
    code: 'EKL_USAGE',
    json: true,
  },
  { name: 'demo: unknown flag', args: () => ['demo', '--proxyy'], exit: 2, code: 'EKL_USAGE' },
  // A bad value of each option type.
  {
    name: 'verify: number flag not a number',
    args: () => ['verify', '--server', 'a.example', '--timeout-ms', 'abc'],
    exit: 2,
    code: 'EKL_CONFIG_INVALID',
    says: ['--timeout-ms: must be a whole number from 100 to 120000, e.g. --timeout-ms 5000 (got "abc")'],
  },
  {
    name: 'verify: number flag out of range',
    args: () => ['verify', '--server', 'a.example', '--timeout-ms', '50'],
    exit: 2,
    code: 'EKL_CONFIG_INVALID',
    says: ['--timeout-ms: must be at least 100'],
  },
  {
    name: 'verify: choice flag',
    args: () => ['verify', '--server', 'a.example', '--output', 'yaml'],
    exit: 2,
    code: 'EKL_CONFIG_INVALID',
    says: ['--output: must be text or json'],
  },
  {
    name: 'verify: pattern flag',
    args: () => ['verify', '--server', 'a.example', '--dns-server', 'resolver'],
    exit: 2,
    code: 'EKL_CONFIG_INVALID',
    says: ['--dns-server[0]: must be an IP[:PORT]'],
  },
  {
    name: 'verify --output json: bad value is JSON',
    args: () => ['verify', '--server', 'a.example', '--output', 'json', '--timeout-ms', 'x'],
    exit: 2,
    code: 'EKL_CONFIG_INVALID',
    json: true,
    says: ['--timeout-ms: must be a whole number'],
  },
  {
    name: 'demo: duration, rate and client',
    args: () => ['demo', '--duration', 'soon', '--rate', 'fast', '--client', 'curl'],
    exit: 2,
    code: 'EKL_CONFIG_INVALID',
    says: [
      '--duration: must be a duration like 30s',
      '--rate: must be a number of requests per second',
      '--client: must be auto',
    ],
  },
  {
    name: 'proxy: neither --config nor --check-config',
    args: () => ['proxy'],
    exit: 2,
    code: 'EKL_USAGE',
    says: ['give exactly one of --config FILE'],
  },
  {
    name: 'kubeconfig: --region contradicts the hostname',
    args: () => [
      'kubeconfig',
      '--topology',
      'gcp-to-aws',
      '--server',
      VPCE_DNS,
      '--eks-hostname',
      EKS_HOST,
      '--ca-data',
      'QUJD',
      '--cluster-name',
      'prod',
      '--region',
      'eu-west-1',
    ],
    exit: 2,
    code: 'EKL_CONFIG_INVALID',
    says: ['--region: contradicts --eks-hostname, which is in us-east-1', '(got "eu-west-1")'],
  },
  {
    name: 'kubeconfig: server and cluster name',
    args: () => [
      'kubeconfig',
      '--topology',
      'gcp-to-aws',
      '--server',
      'x y',
      '--eks-hostname',
      EKS_HOST,
      '--ca-data',
      'QUJD',
      '--cluster-name',
      '-bad',
      '--region',
      'us-east-1',
    ],
    exit: 2,
    code: 'EKL_CONFIG_INVALID',
    says: ['--server: must be host or host:port', '--cluster-name: must be an EKS cluster name'],
  },
  {
    name: 'kubeconfig: every missing flag in one report',
    args: () => ['kubeconfig', '--topology', 'gcp-to-aws', '--cluster-name', 'prod'],
    exit: 2,
    code: 'EKL_CONFIG_INVALID',
    says: [
      '(4 problems)',
      '--eks-hostname: is required',
      '--ca-file: give exactly one of',
      '--server: is required for gcp-to-aws',
      '--region: is required',
    ],
  },
  // Bad files.
  {
    name: 'proxy --check-config: missing file',
    args: () => ['proxy', '--check-config', join(dir, 'nope.yaml')],
    exit: 2,
    code: 'EKL_CONFIG_INVALID',
    says: ['nope.yaml does not exist: check the path'],
  },
  {
    name: 'proxy --check-config: a directory',
    args: () => ['proxy', '--check-config', dir],
    exit: 2,
    code: 'EKL_CONFIG_INVALID',
    says: ['is a directory: give the YAML or JSON file inside it'],
  },
  {
    name: 'proxy --check-config: broken .json',
    args: () => ['proxy', '--check-config', file('broken.json', '{"routes": [}')],
    exit: 2,
    code: 'EKL_CONFIG_INVALID',
    says: ['broken.json is not valid JSON: '],
  },
  {
    name: 'proxy --check-config: every schema problem',
    args: () => ['proxy', '--check-config', file('proxy.yaml', BAD_PROXY)],
    exit: 2,
    code: 'EKL_CONFIG_INVALID',
    says: [
      '(4 problems)',
      'allowedUpstreamCidrs: must be a list',
      'for one item write ["10.0.0.0/16"]',
      'workers: must be "auto", or a number from 1 to 256',
      'listen.port: must be a whole number from 0 to 65535, e.g. 443; write it without quotes: 443',
      'dns.ipv6: must be true or false',
    ],
  },
  {
    name: 'proxy --print-config --output json: every schema problem, as JSON',
    args: () => ['proxy', '--print-config', file('proxy-json.yaml', BAD_PROXY), '--output', 'json'],
    exit: 2,
    code: 'EKL_CONFIG_INVALID',
    json: true,
  },
  {
    // The serving path (no command-line parser loaded) reads the file in a child and
    // reports its error as the full CLI would.
    name: 'proxy --config: missing file',
    args: () => ['proxy', '--config', join(dir, 'nope.yaml')],
    exit: 2,
    code: 'EKL_CONFIG_INVALID',
    says: ['nope.yaml does not exist: check the path'],
  },
  {
    name: 'proxy --config: every schema problem',
    args: () => ['proxy', '--config', file('proxy-serve.yaml', BAD_PROXY)],
    exit: 2,
    code: 'EKL_CONFIG_INVALID',
    says: ['(4 problems)', 'workers: must be "auto", or a number from 1 to 256'],
  },
  {
    name: 'proxy: --config and --print-config together',
    args: () => ['proxy', '--config', 'a.yaml', '--print-config', 'b.yaml'],
    exit: 2,
    code: 'EKL_USAGE',
    says: ['give exactly one of --config FILE (run), --check-config FILE (validate) or --print-config FILE'],
  },
  {
    name: 'provision plan: every problem of a config, cross-field ones included',
    args: () => [...plan, gcpConfig()],
    exit: 2,
    code: 'EKL_CONFIG_INVALID',
    says: [
      'provider.accountId: must be the 12-digit AWS account ID as a quoted string',
      'write it in quotes, "123456789012"',
      'provider.nlb.idleTimeoutSec: must be a whole number from 60 to 6000, e.g. 3600',
      'write it without quotes: 3600',
      'consumer.vpcId: is required: must be a VPC ID, e.g. "vpc-0abc1234def567890"',
      'consumer.subnetIds: must be a list',
      'consumer.allowedCidrs[0]: must be /8 or narrower',
      'consumer.allowedCidrs[0]: must be a network address',
      'consumer.region: must equal provider.region',
    ],
  },
  {
    name: 'provision plan --output json: config problems are JSON',
    args: () => [...plan, gcpConfig(), '--output', 'json'],
    exit: 2,
    code: 'EKL_CONFIG_INVALID',
    json: true,
    says: ['consumer.region: must equal provider.region'],
  },
  {
    name: 'provision plan peered: same account twice, with other problems',
    args: () => ['provision', 'plan', '--topology', 'peered', '--config', file('peered.yaml', BAD_PEERED)],
    exit: 2,
    code: 'EKL_CONFIG_INVALID',
    says: [
      'accepter.accountId: must differ from requester.accountId',
      'accepter.cidr: overlaps requester.cidr',
      'accepter.routeTableIds',
      'accepter: unknown key "extra"',
    ],
  },
  {
    name: 'provision plan: missing config file',
    args: () => [...plan, join(dir, 'gone.yaml')],
    exit: 2,
    code: 'EKL_CONFIG_INVALID',
    says: ['gone.yaml does not exist'],
  },
  {
    name: 'iam-policy --config: bad config',
    args: () => [
      'provision',
      'iam-policy',
      '--topology',
      'gcp-to-aws',
      '--account',
      'provider',
      '--config',
      gcpConfig(),
    ],
    exit: 2,
    code: 'EKL_CONFIG_INVALID',
  },
  {
    name: 'wireguard render: outputs conflict with the config',
    args: () => [
      'wireguard',
      'render',
      '--config',
      file('wg.yaml', WG_CONFIG),
      '--provision-outputs',
      outputsFile(),
      '--out-dir',
      join(dir, 'wg-out'),
    ],
    exit: 2,
    code: 'EKL_WG_OUTPUTS_CONFLICT',
    says: ['vpcEndpoint.addresses in'],
  },
  {
    name: 'wireguard render: bad config',
    args: () => [
      'wireguard',
      'render',
      '--config',
      file('wg-bad.yaml', 'gcp: {}\naws: { listenPort: "51820" }\n'),
      '--out-dir',
      join(dir, 'wg-bad'),
    ],
    exit: 2,
    code: 'EKL_CONFIG_INVALID',
    says: ['gcp.tunnelAddress: is required', 'aws.listenPort:', 'vpcEndpoint: is required'],
  },
  {
    name: 'kubeconfig: missing outputs file',
    args: () => [
      'kubeconfig',
      '--provision-outputs',
      join(dir, 'none.json'),
      '--ca-data',
      'QUJD',
      '--cluster-name',
      'prod',
      '--region',
      'us-east-1',
    ],
    exit: 2,
    code: 'EKL_CONFIG_INVALID',
  },
  {
    name: 'verify: missing kubeconfig',
    args: () => ['verify', '--kubeconfig', join(dir, 'none.kubeconfig')],
    exit: 2,
    code: 'EKL_CONFIG_INVALID',
  },
  // A failed check is 1, not 2; help is 0.
  {
    name: 'verify: a hop fails',
    args: () => ['verify', '--server', `127.0.0.1:${closedPort}`, '--timeout-ms', '1000'],
    exit: 1,
  },
  {
    name: 'verify --output json: a hop fails',
    args: () => ['verify', '--server', `127.0.0.1:${closedPort}`, '--timeout-ms', '1000', '--output', 'json'],
    exit: 1,
  },
  { name: '--help', args: () => ['--help'], exit: 0 },
  { name: 'provision plan --help', args: () => ['provision', 'plan', '--help'], exit: 0 },
];

const WG_CONFIG = `gcp: { tunnelAddress: 10.200.0.2 }
aws: { tunnelAddress: 10.200.0.1, endpointHost: 203.0.113.10 }
vpcEndpoint: { addresses: [10.0.9.9] }
`;

function outputsFile(): string {
  // The shipped example (a real apply against moto wrote it), pointed at this test's endpoint.
  const example = JSON.parse(readFileSync(join(ROOT, 'infra/examples/provision-outputs.json'), 'utf8')) as {
    outputs: Record<string, unknown>;
  };
  const outputs = {
    ...example.outputs,
    vpcEndpointDnsNames: [VPCE_DNS],
    vpcEndpointAddresses: ['10.0.1.23', '10.0.2.45'],
    eksHostname: EKS_HOST,
    eksHostnames: [EKS_HOST],
  };
  return file('outputs.json', JSON.stringify({ ...example, deployment: 'acme', outputs }));
}

let closedPort = 0;

beforeAll(async () => {
  requireBundle();
  dir = mkdtempSync(join(tmpdir(), 'ekslink-usage-'));
  mkdirSync(join(dir, 'wg-out'));
  // A loopback port that was just free: nothing listens, so TCP is refused at once.
  closedPort = await new Promise<number>((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
});

describe('ekslink usage and input errors', () => {
  it.each(CASES)('$name: exit $exit', async (c) => {
    const run = await ekslink(c.args());
    const output = `${run.stdout}\n${run.stderr}`;
    expect(run.code, output).toBe(c.exit);
    for (const phrase of RAW_VALIDATOR_PHRASES) expect(output).not.toMatch(phrase);
    expect(output).not.toMatch(/\n\s+at .*\.m?js:\d+/); // no stack trace
    if (c.code !== undefined) {
      if (c.json) {
        const doc = JSON.parse(run.stdout) as {
          ok: boolean;
          error: { code: string; message: string };
          exitCode: number;
        };
        expect(doc).toMatchObject({ ok: false, error: { code: c.code }, exitCode: c.exit });
        expect(run.stderr).toBe('');
        for (const s of c.says ?? []) expect(doc.error.message).toContain(s);
      } else {
        expect(run.stderr).toMatch(new RegExp(`^error ${c.code}: `, 'm'));
        for (const s of c.says ?? []) expect(run.stderr).toContain(s);
      }
    }
  });
});

describe('topology names', () => {
  it('--help lists the topologies there are', async () => {
    expect([...TOPOLOGY_NAMES].sort()).toEqual(Object.keys(TOPOLOGIES).sort());
    expect([...TOPOLOGY_NAMES].sort()).toEqual([...KUBECONFIG_TOPOLOGIES].sort());
    const help = await ekslink(['provision', 'apply', '--help']);
    for (const name of TOPOLOGY_NAMES) expect(help.stdout).toContain(name);
    const kubeconfigHelp = await ekslink(['kubeconfig', '--help']);
    expect(kubeconfigHelp.stdout).toContain('choices: "gcp-to-aws", "peered"');
  });
});

describe('the Node.js version check (before anything else loads)', () => {
  it('names the version, the binary and the fix on Node < 24, and nothing on 24', () => {
    expect(nodeVersionProblem('v24.0.0', '/x/node')).toBeUndefined();
    const problem = nodeVersionProblem('v20.20.2', '/usr/bin/node');
    expect(problem).toMatch(
      /^error EKL_NODE_VERSION: ekslink needs Node.js 24 or newer; this is v20.20.2 \(\/usr\/bin\/node\)/,
    );
    expect(problem).toContain('npm run ekslink -- <command>');
  });
});
