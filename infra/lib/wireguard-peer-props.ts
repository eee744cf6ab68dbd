/** The props of WireGuardPeer (infra/lib/wireguard-peer.ts): what the peer is built from. */

export interface WireGuardPeerProps {
  /** The proxy account's VPC that holds the ekslink interface VPC endpoint. */
  readonly vpcId: string;
  /** The VPC's primary IPv4 CIDR (the VPC resolver is its base address + 2). */
  readonly vpcCidr: string;
  /** Public subnets the instance may launch in (any one; the Elastic IP follows it). */
  readonly publicSubnetIds: string[];
  /** The Availability Zone of each public subnet, in the same order. */
  readonly availabilityZones: string[];
  /** The GCP side's public egress addresses (Cloud NAT): the only sources allowed to the WireGuard port. */
  readonly gcpEgressCidrs: string[];
  /** The AWS-side config from `ekslink wireguard render` (aws/<iface>.conf, key-file mode, no PrivateKey line). */
  readonly wireGuardConfig: string;
  /** The AWS-side nftables rules from `ekslink wireguard render` (aws/<iface>.nft). */
  readonly nftablesRules: string;
  /** Full ARN (with its 6-character suffix) of the Secrets Manager secret holding the peer's private key. */
  readonly privateKeySecretArn: string;
  /** Security group of the ekslink interface VPC endpoint (created by `ekslink provision apply`). */
  readonly vpcEndpointSecurityGroupId: string;
  /**
   * Security group of the VPC's interface endpoints (ssm, ssmmessages, ec2messages, ec2,
   * secretsmanager, logs, monitoring, cloudformation).
   */
  readonly awsEndpointsSecurityGroupId: string;
  /** The S3 managed prefix list (pl-...) of the VPC's S3 gateway endpoint: AL2023 packages. */
  readonly s3PrefixListId: string;
  /**
   * KMS key that encrypts the secret, when it is a customer managed key.
   * @default - the secret uses the AWS managed key aws/secretsmanager
   */
  readonly privateKeySecretKmsKeyArn?: string;
  /**
   * An existing Elastic IP to use (e.g. the one a destroyed stack retained).
   * @default - a new Elastic IP owned by the stack, retained when the stack or the resource goes
   */
  readonly elasticIpAllocationId?: string;
  /**
   * wg-quick interface name; the config is installed as /etc/wireguard/<name>.conf.
   * @default 'ekslink0'
   */
  readonly interfaceName?: string;
  /**
   * Instance type; must be Graviton (arm64).
   * @default 't4g.small'
   */
  readonly instanceType?: string;
  /**
   * Seconds the instance has to boot and bring the tunnel up before the deploy fails.
   * @default 600
   */
  readonly bootTimeoutSec?: number;
  /**
   * Seconds without a WireGuard handshake after which the instance marks itself unhealthy
   * and Auto Scaling replaces it (at least 180: WireGuard's session lifetime; a working
   * tunnel with the GCP side's 25 s keepalive rekeys every ~2 minutes).
   * @default 180
   */
  readonly maxHandshakeAgeSec?: number;
  /** @default 8 */
  readonly rootVolumeSizeGib?: number;
  /**
   * Retention of the peer's CloudWatch log group (a CloudWatch Logs retention value).
   * @default 30
   */
  readonly logRetentionDays?: number;
}
