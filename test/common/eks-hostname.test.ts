/**
 * One set of EKS private API hostnames, the same answer everywhere: the shared parser, both
 * provisioner configs, kubeconfig's --eks-hostname (must be one), and the proxy route SNI and
 * verify's --tls-server-name (any host, but a name under an EKS domain must be well-formed).
 */
import { describe, expect, test } from 'vitest';
import { eksDomainProblem, parseEksHostname } from '../../common/eks-hostname.js';
import { kubeconfigInputSchema } from '../../provisioner/kubeconfig/input.js';
import { gcpToAwsConfigSchema } from '../../provisioner/topologies/gcp-to-aws/config.js';
import { peeredConfigSchema } from '../../provisioner/topologies/peered/config.js';
import { routeSchema } from '../../proxy/config/schema.js';
import { resolveTarget } from '../../verify/target.js';

const ID = '0123456789ABCDEF0123456789ABCDEF';

/** Every documented format, with what the parser must read from it. */
const GOOD = [
  { host: `${ID}.gr7.us-east-1.eks.amazonaws.com`, region: 'us-east-1', partition: 'aws', family: 'ipv4' },
  {
    host: `${ID}.sk1.us-gov-west-1.eks.amazonaws.com`,
    region: 'us-gov-west-1',
    partition: 'aws-us-gov',
    family: 'ipv4',
  },
  {
    host: `${ID}.yl4.cn-north-1.eks.amazonaws.com.cn`,
    region: 'cn-north-1',
    partition: 'aws-cn',
    family: 'ipv4',
  },
  { host: `${ID}.eu-west-1.api.aws`, region: 'eu-west-1', partition: 'aws', family: 'dual-stack' },
  { host: `${ID}.gr7.us-west-2.api.aws`, region: 'us-west-2', partition: 'aws', family: 'dual-stack' },
  {
    host: `${ID}.us-gov-east-1.api.aws`,
    region: 'us-gov-east-1',
    partition: 'aws-us-gov',
    family: 'dual-stack',
  },
  {
    host: `${ID}.cn-northwest-1.api.amazonwebservices.com.cn`,
    region: 'cn-northwest-1',
    partition: 'aws-cn',
    family: 'dual-stack',
  },
] as const;

const BAD = [
  'gr7.us-east-1.eks.amazonaws.com', // no cluster id
  `${ID}.gr7.cn-north-1.eks.amazonaws.com`, // China region in the commercial domain
  `${ID}.gr7.us-east-1.eks.amazonaws.com.cn`, // commercial region in the China domain
  `${ID}.gr7.useast1.eks.amazonaws.com`, // not a region
  'ec2.us-east-1.api.aws', // an AWS API endpoint, not a cluster
  `${ID}.gr7.us-east-1.elb.amazonaws.com`,
];

function gcpConfig(hostname: string, region: string) {
  const side = {
    accountId: '111111111111',
    region,
    vpcId: 'vpc-0abc1234def567890',
    subnetIds: ['subnet-0abc1234def567890'],
  };
  return {
    deployment: 'acme',
    eks: { hostname },
    provider: side,
    consumer: { ...side, accountId: '222222222222', allowedCidrs: ['10.8.0.10/32'] },
  };
}

function peeredConfig(hostname: string, region: string) {
  const side = (accountId: string, cidr: string) => ({
    accountId,
    region,
    vpcId: 'vpc-0abc1234def567890',
    cidr,
    routeTableIds: ['rtb-0abc1234def567890'],
  });
  return {
    deployment: 'acme',
    eks: { hostname, clusterSecurityGroupId: 'sg-0abc1234def567890' },
    requester: side('111111111111', '10.1.0.0/16'),
    accepter: side('222222222222', '10.2.0.0/16'),
  };
}

function kubeconfigInput(eksHostname: string, region = 'us-east-1') {
  return { topology: 'peered', eksHostname, caData: 'QUJD', clusterName: 'prod', region };
}

describe('every documented format is accepted everywhere', () => {
  test.each(GOOD)('$host', async ({ host, region, partition, family }) => {
    expect(parseEksHostname(host)).toEqual({
      hostname: host.toLowerCase(),
      clusterId: ID.toLowerCase(),
      region,
      partition,
      family,
    });
    expect(gcpToAwsConfigSchema.safeParse(gcpConfig(host, region)).error?.issues).toBeUndefined();
    expect(peeredConfigSchema.safeParse(peeredConfig(host, region)).error?.issues).toBeUndefined();
    expect(kubeconfigInputSchema.safeParse(kubeconfigInput(host, region)).error?.issues).toBeUndefined();
    expect(routeSchema.safeParse({ sni: host }).error?.issues).toBeUndefined();
    await expect(
      resolveTarget({ server: `vpce-0abc.example.internal:443`, tlsServerName: host }),
    ).resolves.toMatchObject({
      tlsServerName: host,
    });
  });
});

describe('malformed names are refused where an EKS hostname is required, and under EKS domains everywhere', () => {
  test.each(BAD)('%s', async (host) => {
    expect(parseEksHostname(host)).toBeUndefined();
    const gcp = gcpToAwsConfigSchema.safeParse(gcpConfig(host, 'us-east-1'));
    expect(gcp.error?.issues.map((i) => i.path.join('.'))).toContain('eks.hostname');
    expect(peeredConfigSchema.safeParse(peeredConfig(host, 'us-east-1')).success).toBe(false);
    const kube = kubeconfigInputSchema.safeParse(kubeconfigInput(host));
    expect(kube.error?.issues[0]?.message).toMatch(
      /^--eks-hostname must be the cluster's private API hostname/,
    );
    const underEksDomain = eksDomainProblem(host) !== undefined;
    expect(routeSchema.safeParse({ sni: host }).success).toBe(!underEksDomain);
    const verify = resolveTarget({ server: 'vpce-0abc.example.internal:443', tlsServerName: host });
    if (underEksDomain) await expect(verify).rejects.toThrow(/must be the cluster's private API hostname/);
    else await expect(verify).resolves.toBeDefined();
  });

  test('a proxy route may name any other host; the provisioner needs the cluster to be in the account region', () => {
    expect(routeSchema.safeParse({ sni: 'api.internal.example.com' }).success).toBe(true);
    const other = gcpToAwsConfigSchema.safeParse(gcpConfig(GOOD[0].host, 'eu-west-1'));
    expect(other.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      [
        'eks.hostname',
        'names a cluster in another region than provider.region: the EKS API is reached inside its own region, where the NLB and proxies run; fix eks.hostname or provider.region',
      ],
    ]);
  });
});
