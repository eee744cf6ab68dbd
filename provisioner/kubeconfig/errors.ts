/** Error codes of `ekslink kubeconfig`. */

export const KUBECONFIG_ERROR_CODES = {
  caUnreadable: 'EKL_KUBECONFIG_CA_UNREADABLE',
  caInvalid: 'EKL_KUBECONFIG_CA_INVALID',
  tokenUnreadable: 'EKL_KUBECONFIG_TOKEN_UNREADABLE',
  writeFailed: 'EKL_KUBECONFIG_WRITE_FAILED',
  outputsConflict: 'EKL_KUBECONFIG_OUTPUTS_CONFLICT',
  outputsIncomplete: 'EKL_KUBECONFIG_OUTPUTS_INCOMPLETE',
} as const;

export type KubeconfigErrorCode = (typeof KUBECONFIG_ERROR_CODES)[keyof typeof KUBECONFIG_ERROR_CODES];

/** code -> one-line meaning and fix (docs/errors.md is generated from this). */
export const ERROR_CATALOG: Readonly<Record<KubeconfigErrorCode, string>> = {
  EKL_KUBECONFIG_CA_UNREADABLE:
    'The --ca-file could not be read. Check the path; get the cluster CA with `aws eks describe-cluster --name NAME --query cluster.certificateAuthority.data --output text` and pass it as --ca-data.',
  EKL_KUBECONFIG_CA_INVALID:
    "The cluster CA is not a PEM CA certificate (or --ca-data is not base64 of one), or it has expired. Use the cluster's own certificate authority, not a server certificate: `aws eks describe-cluster --query cluster.certificateAuthority.data`.",
  EKL_KUBECONFIG_TOKEN_UNREADABLE:
    'The --token-file could not be read or is empty. It must hold one bearer token (break-glass or test use only; normal use is the aws eks get-token exec plugin).',
  EKL_KUBECONFIG_WRITE_FAILED:
    'The kubeconfig could not be written to --out (missing directory, permissions). Check the path is writable.',
  EKL_KUBECONFIG_OUTPUTS_CONFLICT:
    'A flag (--topology, --server, --eks-hostname) disagrees with the --provision-outputs file. Drop the flag (the outputs file is the source), or re-run `ekslink provision apply --outputs-file FILE` if the file is stale.',
  EKL_KUBECONFIG_OUTPUTS_INCOMPLETE:
    'The --provision-outputs file lists no VPC endpoint DNS name: apply did not finish creating the endpoint. Run `ekslink provision apply --outputs-file FILE` again.',
};
