/**
 * The house plan: which folder sits on which floor. A file may import from its own layer and
 * from any floor below its own; never from a floor above (upward), and never from another
 * layer on its own floor (sideways): parts on one floor share through a floor below them.
 * A layer with floors of its own is laid out the same way inside. `npm run check` runs
 * scripts/check-layers.ts over this plan; every source file must sit in exactly one layer.
 */
import type { LayerPlan } from './check.js';

export const PLAN: LayerPlan = {
  floors: [
    [
      {
        name: 'common',
        paths: ['common/'],
        why: 'the ground floor: errors, config-file reading, CIDRs, drain timing, the outputs-file schema; imports nothing of ekslink',
      },
    ],
    [
      {
        name: 'proxy',
        paths: ['proxy/'],
        why: 'the data path (ekslink proxy), grouped by the question a reader brings',
        floors: [
          [
            {
              name: 'proxy/vocabulary',
              paths: ['proxy/errors.ts', 'proxy/close-reason.ts', 'proxy/observer.ts'],
              why: 'the closed sets every stage speaks: error codes, close reasons, what a connection reports',
            },
          ],
          [
            {
              name: 'proxy/wire',
              paths: ['proxy/wire/'],
              why: 'pure, bounded parsers of the bytes on the wire: PROXY v2, the ClientHello, the TLS alert',
            },
          ],
          [
            {
              name: 'proxy/upstream',
              paths: ['proxy/upstream/'],
              // Above wire: the DNS client formats IPv6 answers with the PROXY v2 parser's helper.
              why: 'where a connection goes: DNS client, resolver, address policy, dialer',
            },
          ],
          [
            {
              name: 'proxy/config',
              paths: ['proxy/config/'],
              // Above upstream: the schema refuses public CIDRs with the address policy's own test.
              why: 'the config file: its schema, and what it compiles into for each stage (route table, policy, resolver settings)',
            },
          ],
          [
            {
              name: 'proxy/connection',
              paths: ['proxy/connection/'],
              why: 'one connection from accept to close: the listener, the phases, splice, keepalive, the log line',
            },
          ],
          [
            {
              name: 'proxy/process',
              paths: ['proxy/process/'],
              why: 'the process around the data path: lifecycle, workers, health port, prober, metrics',
            },
          ],
        ],
      },
      {
        name: 'provisioner',
        paths: ['provisioner/'],
        why: 'the plan/apply engine and the topologies (ekslink provision, wireguard, kubeconfig)',
        floors: [
          [
            {
              name: 'provisioner/base',
              paths: ['provisioner/errors.ts', 'provisioner/outputs-file.ts'],
              why: "the provisioner's error family and the outputs file it writes",
            },
          ],
          [
            {
              name: 'provisioner/engine',
              paths: ['provisioner/engine/'],
              why: 'steps, runner, output sink, retry',
            },
          ],
          [
            {
              name: 'provisioner/aws',
              paths: ['provisioner/aws/'],
              why: 'account connections, partitions, tags',
            },
          ],
          [
            {
              name: 'provisioner/iam',
              paths: ['provisioner/iam/'],
              why: 'the least-privilege policy built from the steps',
            },
          ],
          [
            { name: 'provisioner/kubeconfig', paths: ['provisioner/kubeconfig/'], why: 'ekslink kubeconfig' },
            {
              name: 'provisioner/wireguard',
              paths: ['provisioner/wireguard/'],
              why: 'ekslink wireguard render',
            },
            {
              name: 'provisioner/render',
              paths: ['provisioner/render.ts'],
              why: "the engine's output for a person",
            },
          ],
          [
            {
              name: 'provisioner/topologies',
              paths: ['provisioner/topologies/'],
              why: 'one folder per topology, on the shared helpers',
              floors: [
                [
                  {
                    name: 'provisioner/topologies/topology',
                    paths: ['provisioner/topologies/topology.ts'],
                    why: 'what a topology is',
                  },
                ],
                [
                  {
                    name: 'provisioner/topologies/shared',
                    paths: ['provisioner/topologies/shared/'],
                    why: 'read/delete helpers both topologies use',
                  },
                ],
                [
                  {
                    name: 'provisioner/topologies/gcp-to-aws',
                    paths: ['provisioner/topologies/gcp-to-aws/'],
                    why: 'topology 1',
                  },
                  {
                    name: 'provisioner/topologies/peered',
                    paths: ['provisioner/topologies/peered/'],
                    why: 'topology 2',
                  },
                ],
                [
                  {
                    name: 'provisioner/topologies/index',
                    paths: ['provisioner/topologies/index.ts'],
                    why: 'the topologies by name',
                  },
                ],
              ],
            },
          ],
          [{ name: 'provisioner/command', paths: ['provisioner/command.ts'], why: 'ekslink provision' }],
        ],
      },
      { name: 'verify', paths: ['verify/'], why: 'ekslink verify: the path checked hop by hop' },
      {
        name: 'standins',
        paths: ['standins/'],
        why: 'stand-ins for the world around ekslink (DNS server, CA, EKS API) for the demo, the benchmark and the tests; the parts never import them',
      },
    ],
    [
      {
        name: 'infra',
        paths: ['infra/'],
        // Above proxy by design: the stacks ship the proxy's config file (checked with its schema)
        // and alarm on its metric names, both defined once in proxy/.
        why: 'the CDK stacks: they deploy the proxy, so they may read its config schema and metric names',
        floors: [
          [{ name: 'infra/lib', paths: ['infra/lib/'], why: 'constructs and stacks' }],
          [{ name: 'infra/bin', paths: ['infra/bin/'], why: 'the CDK app' }],
        ],
      },
      {
        name: 'demo',
        paths: ['demo/'],
        why: 'ekslink demo: the proxy, the kubeconfig and the stand-ins put together',
      },
    ],
    [
      { name: 'cli', paths: ['cli/'], why: 'the top: one command per file, the only exit code' },
      { name: 'bench', paths: ['bench/'], why: 'npm run bench' },
      { name: 'scripts', paths: ['scripts/'], why: 'build, docs generation, this check' },
    ],
    [{ name: 'test', paths: ['test/'], why: 'tests import anything; nothing imports them' }],
  ],
  // Tool config at the root: not part of the house.
  ignore: ['eslint.config.js', 'vitest.config.ts'],
  allow: [],
};
