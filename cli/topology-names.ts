/**
 * The topology names, for --help and the parser's choices without loading the topologies
 * (and the AWS SDK) on every start. test/cli/usage.test.ts keeps it equal to
 * provisioner/topologies/index.ts TOPOLOGIES and provisioner/kubeconfig/input.ts TOPOLOGIES.
 */
export const TOPOLOGY_NAMES: readonly string[] = ['gcp-to-aws', 'peered'];

/** `gcp-to-aws (topology 1, through PrivateLink) or peered (topology 2, VPC peering)`, for help texts. */
export const TOPOLOGY_HELP =
  'gcp-to-aws (topology 1: WireGuard + PrivateLink) or peered (topology 2: VPC peering)';
