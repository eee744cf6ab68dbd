/**
 * What the IAM front needs to know about existing resources (tags, VPCs, peering sides),
 * read from moto directly as the owning account (`x-moto-account-id`), so the other fakes'
 * listing tricks (pages, tag lag) never change an authorization. Spec: fake-iam.md.
 */
import type { PeeringFacts, ResourceFacts } from './iam-requests.js';

const EC2_VERSION = '2016-11-15';
const ELB_VERSION = '2015-12-01';

/** Describe call and ID parameter that find one EC2 resource by the prefix of its ID. */
const EC2_DESCRIBE_BY_PREFIX: readonly (readonly [string, string, string])[] = [
  ['vpce-svc-', 'DescribeVpcEndpointServiceConfigurations', 'ServiceId.1'],
  ['vpce-', 'DescribeVpcEndpoints', 'VpcEndpointId.1'],
  ['vpc-', 'DescribeVpcs', 'VpcId.1'],
  ['subnet-', 'DescribeSubnets', 'SubnetId.1'],
  ['sg-', 'DescribeSecurityGroups', 'GroupId.1'],
  ['rtb-', 'DescribeRouteTables', 'RouteTableId.1'],
  ['pcx-', 'DescribeVpcPeeringConnections', 'VpcPeeringConnectionId.1'],
];

function tagsOf(xml: string, keyTag: string, valueTag: string): Record<string, string> {
  const tags: Record<string, string> = {};
  const re = new RegExp(`<${keyTag}>([^<]*)</${keyTag}>\\s*<${valueTag}>([^<]*)</${valueTag}>`, 'g');
  for (const m of xml.matchAll(re)) tags[unescapeXml(m[1]!)] = unescapeXml(m[2]!);
  return tags;
}

function unescapeXml(s: string): string {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

function first(xml: string, tag: string): string | undefined {
  return new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml)?.[1];
}

function block(xml: string, tag: string): string {
  return new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(xml)?.[1] ?? '';
}

/** Facts read from moto at `motoUrl`; `accounts` are where endpoint-service owners are looked for. */
export function motoFacts(motoUrl: string, accounts: readonly string[] = []): ResourceFacts {
  async function query(account: string, region: string, service: string, body: string) {
    const res = await fetch(`${motoUrl}/`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        // moto reads the service and region from the credential scope and checks no signature.
        authorization: `AWS4-HMAC-SHA256 Credential=AKIAIAMFRONTFACTS/20240101/${region}/${service}/aws4_request, SignedHeaders=host, Signature=0`,
        'x-moto-account-id': account,
      },
      body,
    });
    return { ok: res.ok, text: await res.text() };
  }

  /** The describe answer's item for one EC2 ID, or undefined when there is none. */
  async function ec2Item(account: string, region: string, id: string): Promise<string | undefined> {
    const entry = EC2_DESCRIBE_BY_PREFIX.find(([prefix]) => id.startsWith(prefix));
    if (entry === undefined) throw new Error(`IAM front: no describe call known for EC2 ID ${id}`);
    const [, action, param] = entry;
    const out = await query(
      account,
      region,
      'ec2',
      `Action=${action}&Version=${EC2_VERSION}&${param}=${encodeURIComponent(id)}`,
    );
    if (!out.ok || !out.text.includes(`>${id}<`)) return undefined;
    return out.text;
  }

  return {
    async ec2Tags(account, region, id) {
      const item = await ec2Item(account, region, id);
      if (item === undefined) return undefined;
      // The resource's own tag set (an item has one, directly under it).
      const tagSet =
        /<tagSet>([\s\S]*?)<\/tagSet>/.exec(item)?.[1] ?? /<tags>([\s\S]*?)<\/tags>/.exec(item)?.[1] ?? '';
      return tagsOf(tagSet, 'key', 'value');
    },
    async vpcOf(account, region, id) {
      const item = await ec2Item(account, region, id);
      return item === undefined ? undefined : first(item, 'vpcId');
    },
    async peering(account, region, id): Promise<PeeringFacts | undefined> {
      const item = await ec2Item(account, region, id);
      if (item === undefined) return undefined;
      const side = (tag: string) => {
        const xml = block(item, tag);
        return {
          account: first(xml, 'ownerId') ?? '',
          region: first(xml, 'region') ?? region,
          vpcId: first(xml, 'vpcId') ?? '',
        };
      };
      return {
        requester: side('requesterVpcInfo'),
        accepter: side('accepterVpcInfo'),
        tags: tagsOf(/<tagSet>([\s\S]*?)<\/tagSet>/.exec(item)?.[1] ?? '', 'key', 'value'),
      };
    },
    async elbTags(account, region, arn) {
      const out = await query(
        account,
        region,
        'elasticloadbalancing',
        `Action=DescribeTags&Version=${ELB_VERSION}&ResourceArns.member.1=${encodeURIComponent(arn)}`,
      );
      if (!out.ok || !out.text.includes(arn)) return undefined;
      return tagsOf(block(out.text, 'Tags'), 'Key', 'Value');
    },
    async endpointServiceOwner(region, serviceName) {
      const serviceId = /(vpce-svc-[0-9a-f]+)$/.exec(serviceName)?.[1];
      if (serviceId === undefined) return undefined;
      for (const account of accounts) {
        if ((await ec2Item(account, region, serviceId)) !== undefined) return account;
      }
      return undefined;
    },
    async loadBalancerType(account, region, arn) {
      const out = await query(
        account,
        region,
        'elasticloadbalancing',
        `Action=DescribeLoadBalancers&Version=${ELB_VERSION}&LoadBalancerArns.member.1=${encodeURIComponent(arn)}`,
      );
      return out.ok && out.text.includes(arn) ? first(out.text, 'Type') : undefined;
    },
  };
}
