import * as z from 'zod';
import { validateConfig } from '../../common/config-file.js';
import type { RegisterCommand } from '../command.js';

const renderOptions = z
  .object({
    config: z.string().min(1, { message: 'give the render config file, e.g. --config wireguard.yaml' }),
    outDir: z.string().min(1, { message: 'give the output directory, e.g. --out-dir ./wireguard' }),
    rotateKeys: z.boolean().default(false),
    provisionOutputs: z
      .string()
      .min(1, {
        message: 'give the outputs file of provision apply, e.g. --provision-outputs acme-outputs.json',
      })
      .optional(),
  })
  .strict();

const keygenOptions = z
  .object({
    privateKeyFile: z
      .string()
      .min(1, { message: 'give where to write the private key, e.g. --private-key-file ./ekslink0.key' }),
    force: z.boolean().default(false),
  })
  .strict();

/** `ekslink wireguard render|keygen`: the WireGuard hop of topology 1 (docs/wireguard.md). */
export const registerWireguard: RegisterCommand = (program, run) => {
  const wireguard = program
    .command('wireguard')
    .description('Render the WireGuard hop between the GCP gateway and the AWS peer (topology 1).');

  wireguard
    .command('render')
    .description(
      'Write wg-quick configs for both ends and the AWS side nftables rules. Private keys go only into mode-0600 files.',
    )
    .requiredOption('--config <file>', 'render config (YAML or JSON), see docs/wireguard.md')
    .requiredOption('--out-dir <dir>', 'directory for gcp/<iface>.conf, aws/<iface>.conf and aws/<iface>.nft')
    .option('--rotate-keys', 'generate new key pairs even if --out-dir holds earlier ones', false)
    .option(
      '--provision-outputs <file>',
      'outputs file of `ekslink provision apply --outputs-file`: the VPC endpoint addresses come from it',
    )
    .action(
      run(async (raw: unknown) => {
        const opts = validateConfig(renderOptions, raw, 'ekslink wireguard render options', {
          paths: 'flags',
        });
        const { loadWireguardConfig } = await import('../../provisioner/wireguard/config.js');
        const { loadWireguardConfigWithOutputs } =
          await import('../../provisioner/wireguard/from-outputs.js');
        const { renderBundle, writeBundle } = await import('../../provisioner/wireguard/bundle.js');
        const config =
          opts.provisionOutputs === undefined
            ? await loadWireguardConfig(opts.config)
            : await loadWireguardConfigWithOutputs(opts.config, opts.provisionOutputs);
        const result = await renderBundle(config, opts.outDir, { rotateKeys: opts.rotateKeys });
        const written = await writeBundle(opts.outDir, result.files);
        for (const path of written) console.log(`wrote ${path}`);
        for (const side of ['gcp', 'aws'] as const) {
          console.log(`${side} public key: ${result.publicKeys[side]} (${result.keySources[side]})`);
        }
        return 0;
      }),
    );

  wireguard
    .command('keygen')
    .description('Generate a key pair: the private key goes to a mode-0600 file, the public key to stdout.')
    .requiredOption('--private-key-file <file>', 'where to write the private key (never printed)')
    .option('--force', 'replace an existing key file', false)
    .action(
      run(async (raw: unknown) => {
        const opts = validateConfig(keygenOptions, raw, 'ekslink wireguard keygen options', {
          paths: 'flags',
        });
        const { writePrivateKeyFile } = await import('../../provisioner/wireguard/keygen.js');
        console.log(await writePrivateKeyFile(opts.privateKeyFile, { force: opts.force }));
        return 0;
      }),
    );
};
