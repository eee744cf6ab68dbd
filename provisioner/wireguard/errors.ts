/** Error codes of `ekslink wireguard` (render and keygen). */

export const WIREGUARD_ERROR_CODES = {
  keyInvalid: 'EKL_WG_KEY_INVALID',
  keyFileExists: 'EKL_WG_KEY_FILE_EXISTS',
  keyFileUnreadable: 'EKL_WG_KEY_FILE_UNREADABLE',
  existingConfigUnusable: 'EKL_WG_EXISTING_CONFIG_UNUSABLE',
  writeFailed: 'EKL_WG_WRITE_FAILED',
  outputsNoAddresses: 'EKL_WG_OUTPUTS_NO_ADDRESSES',
  outputsConflict: 'EKL_WG_OUTPUTS_CONFLICT',
} as const;

export type WireguardErrorCode = (typeof WIREGUARD_ERROR_CODES)[keyof typeof WIREGUARD_ERROR_CODES];

/** code -> one-line meaning and fix (docs/errors.md is generated from this). */
export const ERROR_CATALOG: Readonly<Record<WireguardErrorCode, string>> = {
  EKL_WG_KEY_INVALID:
    'A WireGuard key (publicKey in the render config, or a private key file) is not 32 bytes of base64. Copy it again from `wg pubkey` / `ekslink wireguard keygen`; it is 44 characters ending in "=".',
  EKL_WG_KEY_FILE_EXISTS:
    '`ekslink wireguard keygen` refuses to overwrite an existing private key file (that would cut the tunnel). Pass --force to replace it on purpose, or choose another path.',
  EKL_WG_KEY_FILE_UNREADABLE:
    'The private key file could not be read or does not hold one WireGuard key. Check the path and that it contains the single line `wg genkey` writes.',
  EKL_WG_EXISTING_CONFIG_UNUSABLE:
    'The output directory already holds a rendered config, but its PrivateKey line is missing or malformed, so the key cannot be kept. Pass --rotate-keys to generate new keys (both ends must then be redeployed), or fix or remove the file.',
  EKL_WG_WRITE_FAILED:
    'A rendered file could not be written to --out-dir (missing parent, permissions, read-only file system). Check the directory exists and is writable by you.',
  EKL_WG_OUTPUTS_NO_ADDRESSES:
    'The --provision-outputs file lists no VPC endpoint addresses (vpcEndpointAddresses is empty): the endpoint had no network interfaces when apply wrote it. Run `ekslink provision apply --outputs-file FILE` again once the endpoint is available.',
  EKL_WG_OUTPUTS_CONFLICT:
    'The render config lists vpcEndpoint.addresses that differ from the --provision-outputs file. Remove vpcEndpoint from the render config (the outputs file is the source), or re-run apply if the outputs file is stale.',
};
