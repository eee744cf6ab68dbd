import { Option } from 'commander';
import type { RegisterCommand } from '../command.js';
import { TOPOLOGY_NAMES } from '../topology-names.js';

/** `ekslink kubeconfig`: the metadata plane's kubeconfig for either topology (docs/kubeconfig.md). */
export const registerKubeconfig: RegisterCommand = (program, run) => {
  program
    .command('kubeconfig')
    .description(
      'Write a kubeconfig: server (VPC endpoint DNS name, or the EKS hostname when peered), tls-server-name = the EKS hostname, the cluster CA, and the aws eks get-token exec plugin.',
    )
    .addOption(
      new Option('--topology <topology>', 'the topology (required unless --provision-outputs)').choices([
        ...TOPOLOGY_NAMES,
      ]),
    )
    .option(
      '--provision-outputs <file>',
      'outputs file of `ekslink provision apply --outputs-file` (gcp-to-aws): server and eks-hostname come from it',
    )
    .option(
      '--server <host[:port]>',
      'what kubectl dials: the VPC endpoint DNS name (gcp-to-aws); default the EKS hostname (peered)',
    )
    .option(
      '--eks-hostname <host>',
      'the EKS private API hostname (certificate name and SNI); required unless --provision-outputs',
    )
    .option('--ca-file <file>', 'cluster CA, PEM')
    .option(
      '--ca-data <base64>',
      'cluster CA as base64 PEM (aws eks describe-cluster ... certificateAuthority.data)',
    )
    .requiredOption('--cluster-name <name>', 'EKS cluster name, for aws eks get-token')
    .option('--region <region>', "the cluster's region, for aws eks get-token")
    .option('--role-arn <arn>', 'role aws eks get-token assumes')
    .option('--aws-profile <profile>', 'AWS CLI profile the exec plugin runs with')
    .option(
      '--token-file <file>',
      'static bearer token instead of the exec plugin (break-glass, tests); needs --out',
    )
    .option('--context-name <name>', 'name of the cluster, user and context (default ekslink-<cluster-name>)')
    .option('--out <file>', 'write here with mode 0600 instead of stdout')
    .action(
      run(async (raw: Record<string, unknown>) => {
        const { validateConfig } = await import('../../common/config-file.js');
        const { kubeconfigInputSchema } = await import('../../provisioner/kubeconfig/input.js');
        const { buildKubeconfig, writeKubeconfig } = await import('../../provisioner/kubeconfig/build.js');
        const { kubeconfigOptionsFromOutputs } = await import('../../provisioner/kubeconfig/from-outputs.js');
        const options =
          typeof raw.provisionOutputs === 'string'
            ? await kubeconfigOptionsFromOutputs(raw, raw.provisionOutputs)
            : raw;
        const input = validateConfig(kubeconfigInputSchema, options, 'ekslink kubeconfig options', {
          paths: 'flags',
        });
        const { kubeconfigWarnings } = await import('../../provisioner/kubeconfig/warnings.js');
        for (const warning of kubeconfigWarnings(input)) process.stderr.write(`warning: ${warning}\n`);
        const text = await buildKubeconfig(input);
        if (input.out === undefined) {
          process.stdout.write(text);
        } else {
          await writeKubeconfig(input.out, text);
          console.log(`wrote ${input.out}`);
        }
        return 0;
      }),
    );
};
