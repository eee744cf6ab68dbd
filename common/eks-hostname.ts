/**
 * The private API hostnames EKS gives a cluster, in every format AWS documents
 * (docs.aws.amazon.com/eks/latest/userguide/cluster-endpoint.html), as one module so the
 * provisioner, the proxy config, kubeconfig and verify accept exactly the same names:
 *
 * | family                          | AWS and GovCloud                                  | China                                                 |
 * |---------------------------------|---------------------------------------------------|-------------------------------------------------------|
 * | IPv4                            | `<id>.<label>.<region>.eks.amazonaws.com`         | `<id>.<label>.<region>.eks.amazonaws.com.cn`           |
 * | dual-stack (IPv6 clusters made since October 2024) | `<id>[.<label>].<region>.api.aws` | `<id>[.<label>].<region>.api.amazonwebservices.com.cn` |
 *
 * `<id>` is the cluster's unique identifier (32 hex digits today), `<label>` a short cell
 * label such as `gr7` or `yl4`.
 */

export type EksPartition = 'aws' | 'aws-cn' | 'aws-us-gov';
export type EksIpFamily = 'ipv4' | 'dual-stack';

export interface EksHostname {
  /** Lower case, no trailing dot. */
  readonly hostname: string;
  readonly clusterId: string;
  readonly region: string;
  readonly partition: EksPartition;
  readonly family: EksIpFamily;
}

/** Under the EKS domains any DNS label; under api.aws, which also names AWS APIs (`ec2.<region>.api.aws`), 16+ characters. */
const ID = '([0-9a-z]{1,63})';
const LONG_ID = '([0-9a-z]{16,63})';
const LABEL = '([a-z0-9]{1,16})';
const REGION = '([a-z]{2}(?:-gov)?-[a-z]+-\\d{1,2})';

const FORMATS: readonly { re: RegExp; family: EksIpFamily; china: boolean }[] = [
  { re: new RegExp(`^${ID}\\.${LABEL}\\.${REGION}\\.eks\\.amazonaws\\.com$`), family: 'ipv4', china: false },
  {
    re: new RegExp(`^${ID}\\.${LABEL}\\.${REGION}\\.eks\\.amazonaws\\.com\\.cn$`),
    family: 'ipv4',
    china: true,
  },
  {
    re: new RegExp(`^${LONG_ID}(?:\\.${LABEL})?\\.${REGION}\\.api\\.aws$`),
    family: 'dual-stack',
    china: false,
  },
  {
    re: new RegExp(`^${LONG_ID}(?:\\.${LABEL})?\\.${REGION}\\.api\\.amazonwebservices\\.com\\.cn$`),
    family: 'dual-stack',
    china: true,
  },
];

/** Domains under which a name must be a well-formed EKS hostname (see eksDomainProblem). */
const EKS_DOMAINS = ['.eks.amazonaws.com', '.eks.amazonaws.com.cn'];

export const EKS_HOSTNAME_EXAMPLE = '0123456789ABCDEF0123456789ABCDEF.gr7.us-east-1.eks.amazonaws.com';

/** The formats, for messages. */
export const EKS_HOSTNAME_FORMATS =
  '<id>.<label>.<region>.eks.amazonaws.com (IPv4, also GovCloud), <id>.<region>.api.aws (dual-stack), ' +
  'or in China <id>.<label>.<region>.eks.amazonaws.com.cn / <id>.<region>.api.amazonwebservices.com.cn';

function normalize(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

/** The parts of an EKS private API hostname, or undefined when it is not one. */
export function parseEksHostname(name: string): EksHostname | undefined {
  const hostname = normalize(name);
  for (const f of FORMATS) {
    const m = f.re.exec(hostname);
    if (m === null) continue;
    const clusterId = m[1]!;
    const region = m[3]!;
    const china = region.startsWith('cn-');
    if (china !== f.china) return undefined;
    const partition: EksPartition = china ? 'aws-cn' : region.startsWith('us-gov-') ? 'aws-us-gov' : 'aws';
    return { hostname, clusterId, region, partition, family: f.family };
  }
  return undefined;
}

/** Why `name` is not an EKS private API hostname (for config keys that must name one), or undefined. */
export function eksHostnameProblem(name: string): string | undefined {
  if (parseEksHostname(name) !== undefined) return undefined;
  return `must be the cluster's private API hostname (aws eks describe-cluster --query cluster.endpoint, without https://): ${EKS_HOSTNAME_FORMATS}; e.g. "${EKS_HOSTNAME_EXAMPLE}"`;
}

/**
 * For names that may be any host (a proxy route, a TLS server name): a name under an EKS
 * domain must still be a well-formed EKS hostname, so a typo (`gr7.us-east-1.eks.amazonaws.com`
 * without the cluster id, a region in the wrong partition) is caught where it is typed.
 */
export function eksDomainProblem(name: string): string | undefined {
  const hostname = normalize(name);
  if (!EKS_DOMAINS.some((d) => hostname.endsWith(d))) return undefined;
  return eksHostnameProblem(hostname);
}
