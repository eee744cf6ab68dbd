/**
 * A loopback HTTP front for moto that adds the Network Load Balancer security-group rules
 * moto 5.2 lacks: an NLB created without security groups can never get one
 * (SetSecurityGroups refused), and the `EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic`
 * setting (default `on`; set with SetSecurityGroups; shown by DescribeLoadBalancers).
 * Every other request is forwarded to moto unchanged. The behaviour is specified in
 * fake-elbv2-nlb-security-groups.md; its own tests are fake-elbv2-nlb-security-groups.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mapSetItems } from './fake-ec2-endpoint-connections.js';
import { forwardTo, readBody } from './fake-http.js';

const ELB_NS = 'http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/';

export type Enforcement = 'on' | 'off';

export interface NlbSecurityGroupsFake {
  /** Point the next front (or the ELBv2 endpoint override) here. */
  readonly url: string;
  /** Load balancer ARN -> its PrivateLink inbound enforcement (NLBs created with groups only). */
  enforcement(): Map<string, Enforcement>;
  stop(): Promise<void>;
}

function listParam(form: URLSearchParams, prefix: string): string[] {
  const out: string[] = [];
  for (let i = 1; form.has(`${prefix}.${i}`); i++) out.push(form.get(`${prefix}.${i}`)!);
  return out;
}

function tagValue(xml: string, tag: string): string | undefined {
  return new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml)?.[1];
}

function elbError(code: string, message: string): string {
  return `<ErrorResponse xmlns="${ELB_NS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`;
}

export async function startNlbSecurityGroupsFake(options: {
  motoUrl: string;
}): Promise<NlbSecurityGroupsFake> {
  const moto = new URL(options.motoUrl);
  /** NLBs this fake saw created: ARN -> enforcement, or null when created without groups. */
  const nlbs = new Map<string, Enforcement | null>();

  const forward = (req: IncomingMessage, body: Buffer) =>
    forwardTo(moto, req.method ?? 'POST', req.url ?? '/', req.headers, body);

  function send(res: ServerResponse, status: number, body: string, contentType = 'text/xml') {
    res.writeHead(status, { 'content-type': contentType, 'content-length': String(Buffer.byteLength(body)) });
    res.end(body);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const form = new URLSearchParams(raw.toString());
    const action = form.get('Action') ?? '';
    const service = /Credential=[^/]+\/[^/]+\/[^/]+\/([^/]+)\//.exec(req.headers.authorization ?? '')?.[1];
    if (service !== 'elasticloadbalancing') {
      const out = await forward(req, raw);
      return send(res, out.status, out.body, String(out.headers['content-type'] ?? 'text/xml'));
    }
    if (action === 'SetSecurityGroups') {
      const arn = form.get('LoadBalancerArn') ?? '';
      if (nlbs.get(arn) === null) {
        return send(
          res,
          400,
          elbError(
            'InvalidConfigurationRequest',
            'You cannot set security groups on a Network Load Balancer which was created without any security groups.',
          ),
        );
      }
      const groups = listParam(form, 'SecurityGroups.member');
      if (nlbs.has(arn) && groups.length === 0) {
        return send(
          res,
          400,
          elbError(
            'InvalidConfigurationRequest',
            'You cannot remove all security groups from a Network Load Balancer that was created with security groups.',
          ),
        );
      }
      const out = await forward(req, raw);
      if (out.status !== 200) return send(res, out.status, out.body);
      const value = form.get('EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic');
      if (value !== null && value !== 'on' && value !== 'off') {
        return send(
          res,
          400,
          elbError(
            'ValidationError',
            `Invalid value '${value}' for EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic: on | off`,
          ),
        );
      }
      const enforcement: Enforcement = (value as Enforcement | null) ?? nlbs.get(arn) ?? 'on';
      if (nlbs.has(arn)) nlbs.set(arn, enforcement);
      // AWS's answer shape (moto's names the list SecurityGroups, which the SDK does not read).
      const body =
        `<SetSecurityGroupsResponse xmlns="${ELB_NS}"><SetSecurityGroupsResult><SecurityGroupIds>` +
        groups.map((g) => `<member>${g}</member>`).join('') +
        `</SecurityGroupIds>${nlbs.has(arn) ? `<EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic>${enforcement}</EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic>` : ''}` +
        `</SetSecurityGroupsResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></SetSecurityGroupsResponse>`;
      return send(res, 200, body);
    }
    const out = await forward(req, raw);
    if (out.status !== 200) return send(res, out.status, out.body);
    switch (action) {
      case 'CreateLoadBalancer': {
        if ((form.get('Type') ?? 'application') === 'network') {
          const arn = tagValue(out.body, 'LoadBalancerArn');
          if (arn) nlbs.set(arn, listParam(form, 'SecurityGroups.member').length > 0 ? 'on' : null);
        }
        return send(res, 200, withEnforcement(out.body));
      }
      case 'DescribeLoadBalancers':
        return send(res, 200, withEnforcement(out.body));
      case 'DeleteLoadBalancer':
        nlbs.delete(form.get('LoadBalancerArn') ?? '');
        return send(res, 200, out.body);
      default:
        return send(res, 200, out.body);
    }
  }

  /** Each tracked NLB with groups carries its enforcement, after its SecurityGroups list. */
  function withEnforcement(xml: string): string {
    return mapSetItems(
      xml,
      'LoadBalancers',
      (item) => {
        const value = nlbs.get(tagValue(item, 'LoadBalancerArn') ?? '');
        if (value === undefined || value === null) return item;
        const field = `<EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic>${value}</EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic>`;
        const cleaned = item.replace(
          /<EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic>[^<]*<\/EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic>/,
          '',
        );
        return cleaned.replace(/<\/member>\s*$/, `${field}</member>`);
      },
      'member',
    );
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent)
        send(res, 500, elbError('InternalFailure', err instanceof Error ? err.message : String(err)));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    enforcement: () => new Map([...nlbs].filter((e): e is [string, Enforcement] => e[1] !== null)),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
