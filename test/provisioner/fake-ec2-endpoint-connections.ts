/**
 * A loopback HTTP front for moto that adds what moto lacks for PrivateLink acceptance:
 * AcceptVpcEndpointConnections, RejectVpcEndpointConnections and
 * DescribeVpcEndpointConnections, plus the real endpoint state machine
 * (pendingAcceptance -> pending -> available, or -> rejected); the `failed` states of
 * load balancers and endpoint services that moto never produces; and pagination of
 * DescribeVpcEndpoints / DescribeSecurityGroups, which moto answers in one page. Every other
 * request is forwarded to moto unchanged. The behaviour is specified in
 * fake-ec2-endpoint-connections.md; its own tests are fake-ec2-endpoint-connections.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { forwardTo, readBody, xmlEscape } from './fake-http.js';

const EC2_NS = 'http://ec2.amazonaws.com/doc/2016-11-15/';

export type ConnectionState = 'pendingAcceptance' | 'pending' | 'available' | 'rejected' | 'deleted';

export interface ConnectionRecord {
  readonly serviceId: string;
  readonly vpcEndpointId: string;
  readonly vpcEndpointOwner: string;
  state: ConnectionState;
  readonly creationTimestamp: string;
  /** Describe calls left before `pending` becomes `available`. */
  pendingPolls: number;
}

interface ServiceRecord {
  readonly serviceId: string;
  readonly serviceName: string;
  readonly owner: string;
  acceptanceRequired: boolean;
}

/** An injected failure: the next `times` matching requests get this error instead of an answer. */
export interface FaultRule {
  /** IAM service prefix of the request: `ec2` or `elasticloadbalancing`. */
  readonly service: string;
  readonly action: string;
  readonly code: string;
  /** @default 503 for EC2 RequestLimitExceeded, else 400 */
  readonly status?: number;
  times: number;
}

/** Describe calls the fake can split into pages and reorder (moto returns everything in one, in creation order). */
export type PagedAction =
  | 'DescribeVpcEndpoints'
  | 'DescribeSecurityGroups'
  | 'DescribeVpcEndpointServiceConfigurations'
  | 'DescribeVpcEndpointConnections';

/** Creates whose new resource the fake can keep out of tag-filtered listings for a while. */
export type LaggedCreate =
  'CreateVpcEndpoint' | 'CreateVpcEndpointServiceConfiguration' | 'CreateSecurityGroup';

/** Where each lagged create's resource is listed, and the element that holds its ID. */
const LAGGED_LISTS: Record<LaggedCreate, { list: PagedAction; set: string; id: string }> = {
  CreateVpcEndpoint: { list: 'DescribeVpcEndpoints', set: 'vpcEndpointSet', id: 'vpcEndpointId' },
  CreateVpcEndpointServiceConfiguration: {
    list: 'DescribeVpcEndpointServiceConfigurations',
    set: 'serviceConfigurationSet',
    id: 'serviceId',
  },
  CreateSecurityGroup: { list: 'DescribeSecurityGroups', set: 'securityGroupInfo', id: 'groupId' },
};

/** Creates that take an idempotency token (`ClientToken`) the fake honours. */
const TOKEN_CREATES = ['CreateVpcEndpoint', 'CreateVpcEndpointServiceConfiguration'];

export interface EndpointConnectionsFake {
  /** Point EC2 (and ELBv2) endpoint overrides here. */
  readonly url: string;
  /** Snapshot of every tracked connection. */
  connections(): ConnectionRecord[];
  /** Put an existing load balancer in state `failed` with this reason (AWS: provisioning -> failed). */
  failLoadBalancer(arn: string, reason: string): void;
  /** The next load balancer created answers `provisioning`, then `failed` with this reason. */
  failNextLoadBalancer(reason: string): void;
  /** Put an existing endpoint service in state `Failed`. */
  failEndpointService(serviceId: string): void;
  /** Answer `action` in pages of `pageSize` items with a `nextToken`, as AWS may; undefined: one page. */
  paginate(action: PagedAction, pageSize: number | undefined): void;
  /** List `action`'s items newest first (AWS promises no order); false: moto's creation order. */
  reverseListing(action: PagedAction, on: boolean): void;
  /** The next resource `action` creates stays out of tag-filtered listings for `looks` answers. */
  lagTags(action: LaggedCreate, looks: number): void;
  /** Carry out the next `times` `action` requests, then drop the connection instead of answering. */
  dropAnswer(service: string, action: string, times?: number): void;
  /** New load balancers answer `provisioning` for `looks` DescribeLoadBalancers before `active`. */
  activateAfter(looks: number): void;
  /** Make the next matching requests fail (throttling, eventual consistency). */
  inject(rule: Omit<FaultRule, 'times'> & { times?: number }): void;
  /** How many requests were answered by injected faults, per `service:action`. */
  readonly faultsServed: Map<string, number>;
  stop(): Promise<void>;
}

export interface FakeOptions {
  readonly motoUrl: string;
  /** Describe polls a connection stays `pending` after acceptance (real AWS: seconds to minutes). @default 1 */
  readonly pendingPolls?: number;
}

function tagValue(xml: string, tag: string): string | undefined {
  return new RegExp(`<${tag}>([^<]*)</${tag}>`).exec(xml)?.[1];
}

/** Values of `Prefix.1`, `Prefix.2`, ... in a query-protocol form. */
function listParam(form: URLSearchParams, prefix: string): string[] {
  const out: string[] = [];
  for (let i = 1; form.has(`${prefix}.${i}`); i++) out.push(form.get(`${prefix}.${i}`)!);
  return out;
}

/** `Filter.N.Name` / `Filter.N.Value.M` pairs. */
function filters(form: URLSearchParams): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (let i = 1; form.has(`Filter.${i}.Name`); i++)
    out.set(form.get(`Filter.${i}.Name`)!, listParam(form, `Filter.${i}.Value`));
  return out;
}

/**
 * Apply `fn` to each top-level `<item>` of the first `<setTag>` element, depth-aware so
 * nested item lists (tags, subnets, DNS entries) are left alone.
 */
export function mapSetItems(
  xml: string,
  setTag: string,
  fn: (item: string, index: number) => string,
  itemTag = 'item',
): string {
  const open = xml.indexOf(`<${setTag}>`);
  if (open < 0) return xml;
  const re = /<(\/?)([A-Za-z0-9]+)[^>]*?(\/?)>/g;
  re.lastIndex = open + setTag.length + 2;
  let depth = 0;
  let itemStart = -1;
  const spans: [number, number][] = [];
  for (let m = re.exec(xml); m; m = re.exec(xml)) {
    const [, closing, name, selfClosing] = m;
    if (selfClosing) continue;
    if (!closing) {
      if (depth === 0 && name === itemTag) itemStart = m.index;
      depth++;
    } else {
      if (depth === 0 && name === setTag) break;
      depth--;
      if (depth === 0 && name === itemTag) spans.push([itemStart, re.lastIndex]);
    }
  }
  let out = xml;
  for (let i = spans.length - 1; i >= 0; i--) {
    const [s, e] = spans[i]!;
    out = out.slice(0, s) + fn(out.slice(s, e), i) + out.slice(e);
  }
  return out;
}

const PAGED_SETS: Record<PagedAction, string> = {
  DescribeVpcEndpoints: 'vpcEndpointSet',
  DescribeSecurityGroups: 'securityGroupInfo',
  DescribeVpcEndpointServiceConfigurations: 'serviceConfigurationSet',
  DescribeVpcEndpointConnections: 'vpcEndpointConnectionSet',
};

/** The same answer with the set's top-level items in reverse order. */
export function reverseSetItems(xml: string, setTag: string): string {
  const items: string[] = [];
  mapSetItems(xml, setTag, (item, i) => ((items[i] = item), item));
  return mapSetItems(xml, setTag, (_, i) => items[items.length - 1 - i]!);
}

/**
 * One page of a full moto answer: items [offset, offset + size) of the set, and a
 * `<nextToken>` when more remain. The token is the fake's own (`fake-page-<offset>`).
 */
export function pageOf(xml: string, setTag: string, offset: number, size: number): string {
  let total = 0;
  let out = mapSetItems(xml, setTag, (item, i) => {
    total = Math.max(total, i + 1);
    return i >= offset && i < offset + size ? item : '';
  });
  if (offset + size < total) {
    out = out.replace(/<requestId>/, `<nextToken>fake-page-${offset + size}</nextToken><requestId>`);
  }
  return out;
}

function ec2Error(code: string, message: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error></Errors><RequestID>${randomUUID()}</RequestID></Response>`;
}

function elbError(code: string, message: string): string {
  return `<ErrorResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><Error><Type>Sender</Type><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`;
}

function unsuccessfulXml(items: { id: string; code: string; message: string }[]): string {
  if (items.length === 0) return '<unsuccessful/>';
  return `<unsuccessful>${items
    .map(
      (u) =>
        `<item><error><code>${u.code}</code><message>${xmlEscape(u.message)}</message></error><resourceId>${u.id}</resourceId></item>`,
    )
    .join('')}</unsuccessful>`;
}

function ec2Response(action: string, inner: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${EC2_NS}"><requestId>${randomUUID()}</requestId>${inner}</${action}Response>`;
}

/** The state a consumer sees on its endpoint for a connection state. */
function endpointStateOf(state: ConnectionState): string {
  return state;
}

export async function startEndpointConnectionsFake(options: FakeOptions): Promise<EndpointConnectionsFake> {
  const moto = new URL(options.motoUrl);
  const services = new Map<string, ServiceRecord>();
  const byName = new Map<string, ServiceRecord>();
  const conns = new Map<string, ConnectionRecord>();
  const accounts = new Map<string, string>();
  const rules: FaultRule[] = [];
  const faultsServed = new Map<string, number>();
  const pendingPolls = options.pendingPolls ?? 1;
  /** Load balancer ARN -> reason it failed. */
  const failedLbs = new Map<string, string>();
  let nextLbFailure: string | undefined;
  const failedServices = new Set<string>();
  const pageSizes = new Map<string, number>();
  const reversed = new Set<string>();
  /** Lagged create -> looks its next resource stays unlisted; resource ID -> looks left. */
  const lagArmed = new Map<LaggedCreate, number>();
  const hidden = new Map<string, number>();
  const drops: { service: string; action: string; times: number }[] = [];
  const dropped = new WeakSet<ServerResponse>();
  /** `account:action:token` -> the request it came with and the answer given. */
  const tokens = new Map<string, { request: string; status: number; body: string }>();
  let activationLooks = 0;
  /** Load balancer ARN -> DescribeLoadBalancers answers left in `provisioning`. */
  const provisioning = new Map<string, number>();

  const forward = (
    method: string,
    path: string,
    headers: IncomingMessage['headers'],
    body: Buffer | string,
    extra: Record<string, string> = {},
  ) => forwardTo(moto, method, path, { ...headers, ...extra }, body);

  /** Which account a request is for: moto's own answer for its access key (or the moto header). */
  async function accountOf(headers: IncomingMessage['headers']): Promise<string> {
    const header = headers['x-moto-account-id'];
    if (typeof header === 'string') return header;
    const accessKey = /Credential=([^/]+)\//.exec(headers.authorization ?? '')?.[1] ?? 'unknown';
    const cached = accounts.get(accessKey);
    if (cached) return cached;
    const res = await forward(
      'POST',
      '/',
      {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `AWS4-HMAC-SHA256 Credential=${accessKey}/20240101/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=0`,
      },
      'Action=GetCallerIdentity&Version=2011-06-15',
    );
    const account = tagValue(res.body, 'Account') ?? '123456789012';
    accounts.set(accessKey, account);
    return account;
  }

  async function allowedPrincipals(svc: ServiceRecord): Promise<string[]> {
    const res = await forward(
      'POST',
      '/',
      {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `AWS4-HMAC-SHA256 Credential=AKIAFAKEFRONT/20240101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=0`,
      },
      `Action=DescribeVpcEndpointServicePermissions&Version=2016-11-15&ServiceId=${svc.serviceId}`,
      { 'x-moto-account-id': svc.owner },
    );
    return [...res.body.matchAll(/<principal>([^<]*)<\/principal>/g)].map((m) => m[1]!);
  }

  function mayConnect(principals: string[], account: string): boolean {
    return principals.some((p) => p === '*' || new RegExp(`^arn:aws[a-z-]*:iam::${account}:`).test(p));
  }

  /** `pending` (accepted, being wired) turns `available` after a few looks, as in AWS. */
  function tick(conn: ConnectionRecord): void {
    if (conn.state === 'pending' && conn.pendingPolls-- <= 0) conn.state = 'available';
  }

  function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}) {
    // Carried out, but the caller never hears: as when a connection breaks after AWS acted.
    if (dropped.has(res)) return void res.socket?.destroy();
    res.writeHead(status, {
      'content-type': 'text/xml',
      'content-length': String(Buffer.byteLength(body)),
      ...headers,
    });
    res.end(body);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const form = new URLSearchParams(raw.toString());
    const action = form.get('Action') ?? '';
    const service =
      /Credential=[^/]+\/[^/]+\/[^/]+\/([^/]+)\//.exec(req.headers.authorization ?? '')?.[1] ?? 'unknown';

    const rule = rules.find((r) => r.times > 0 && r.service === service && r.action === action);
    if (rule) {
      rule.times--;
      faultsServed.set(`${service}:${action}`, (faultsServed.get(`${service}:${action}`) ?? 0) + 1);
      const status = rule.status ?? (rule.code === 'RequestLimitExceeded' ? 503 : 400);
      return send(
        res,
        status,
        service === 'ec2'
          ? ec2Error(rule.code, 'injected by the test')
          : elbError(rule.code, 'Rate exceeded'),
      );
    }
    const drop = drops.find((d) => d.times > 0 && d.service === service && d.action === action);
    if (drop) {
      drop.times--;
      dropped.add(res);
    }
    const pass = async () => {
      const out = await forward(req.method ?? 'POST', req.url ?? '/', req.headers, raw);
      return out;
    };
    if (service === 'elasticloadbalancing') return handleElb(action, form, res, await pass());
    if (service !== 'ec2') {
      const out = await pass();
      return send(res, out.status, out.body);
    }
    const account = await accountOf(req.headers);

    // Idempotency (EC2 ClientToken): the same token with the same request gets the first
    // answer again, with a different request IdempotentParameterMismatch; nothing new is made.
    const token = TOKEN_CREATES.includes(action) ? form.get('ClientToken') : null;
    const tokenKey = `${account}:${action}:${token}`;
    const fingerprint = [...form.entries()]
      .filter(([k]) => k !== 'ClientToken')
      .map(([k, v]) => `${k}=${v}`)
      .sort()
      .join('&');
    if (token) {
      const seen = tokens.get(tokenKey);
      if (seen && seen.request !== fingerprint) {
        return send(
          res,
          400,
          ec2Error('IdempotentParameterMismatch', `Client token ${token} was used with different parameters`),
        );
      }
      if (seen) return send(res, seen.status, seen.body);
    }
    const remember = (status: number, body: string) => {
      if (token && status === 200) tokens.set(tokenKey, { request: fingerprint, status, body });
    };
    /** Arm the lag of this create's resource, when a test asked for one. */
    const lagNew = (created: LaggedCreate, body: string) => {
      const looks = lagArmed.get(created);
      const id = tagValue(body, LAGGED_LISTS[created].id);
      if (looks === undefined || id === undefined) return;
      lagArmed.delete(created);
      hidden.set(id, looks);
    };

    switch (action) {
      case 'CreateVpcEndpointServiceConfiguration': {
        const out = await pass();
        if (out.status === 200) {
          const id = tagValue(out.body, 'serviceId')!;
          const rec: ServiceRecord = {
            serviceId: id,
            serviceName: tagValue(out.body, 'serviceName')!,
            owner: account,
            acceptanceRequired: form.get('AcceptanceRequired') !== 'false',
          };
          services.set(id, rec);
          byName.set(rec.serviceName, rec);
          lagNew('CreateVpcEndpointServiceConfiguration', out.body);
        }
        remember(out.status, out.body);
        return send(res, out.status, out.body);
      }
      case 'ModifyVpcEndpointServiceConfiguration': {
        const out = await pass();
        const svc = services.get(form.get('ServiceId') ?? '');
        if (out.status === 200 && svc && form.has('AcceptanceRequired'))
          svc.acceptanceRequired = form.get('AcceptanceRequired') === 'true';
        return send(res, out.status, out.body);
      }
      case 'DescribeVpcEndpointServiceConfigurations': {
        const out = await pass();
        if (out.status !== 200) return send(res, out.status, out.body);
        const body = mapSetItems(out.body, 'serviceConfigurationSet', (item) =>
          failedServices.has(tagValue(item, 'serviceId') ?? '')
            ? item.replace(/<serviceState>[^<]*<\/serviceState>/, '<serviceState>Failed</serviceState>')
            : item,
        );
        return send(res, 200, listing(action, form, body));
      }
      case 'DeleteVpcEndpointServiceConfigurations': {
        const ids = listParam(form, 'ServiceId');
        const blocked = ids.filter((id) =>
          [...conns.values()].some(
            (c) => c.serviceId === id && ['pendingAcceptance', 'pending', 'available'].includes(c.state),
          ),
        );
        const rest = ids.filter((id) => !blocked.includes(id));
        const unsuccessful = blocked.map((id) => ({
          id,
          code: 'ExistingVpcEndpointConnections',
          message: `Service ${id} has existing VPC Endpoint connections. Reject them before deleting the service.`,
        }));
        if (rest.length > 0) {
          const body = new URLSearchParams({ Action: action, Version: form.get('Version') ?? '2016-11-15' });
          rest.forEach((id, i) => body.set(`ServiceId.${i + 1}`, id));
          const out = await forward('POST', req.url ?? '/', req.headers, body.toString());
          if (out.status !== 200) return send(res, out.status, out.body);
          const motoFailed = [
            ...out.body.matchAll(
              /<item><error><code>([^<]*)<\/code><message>([^<]*)<\/message><\/error><resourceId>([^<]*)<\/resourceId><\/item>/g,
            ),
          ];
          unsuccessful.push(...motoFailed.map((m) => ({ id: m[3]!, code: m[1]!, message: m[2]! })));
          for (const id of rest) {
            const svc = services.get(id);
            if (!motoFailed.some((m) => m[3] === id)) failedServices.delete(id);
            if (svc && !motoFailed.some((m) => m[3] === id)) {
              services.delete(id);
              byName.delete(svc.serviceName);
            }
          }
        }
        return send(res, 200, ec2Response(action, unsuccessfulXml(unsuccessful)));
      }
      case 'CreateVpcEndpoint': {
        const svc = byName.get(form.get('ServiceName') ?? '');
        if (svc && svc.owner !== account && !mayConnect(await allowedPrincipals(svc), account)) {
          return send(
            res,
            400,
            ec2Error('InvalidServiceName', `The Vpc Endpoint Service '${svc.serviceName}' does not exist`),
          );
        }
        const out = await pass();
        if (out.status !== 200 || !svc) {
          remember(out.status, out.body);
          return send(res, out.status, out.body);
        }
        const id = tagValue(out.body, 'vpcEndpointId')!;
        lagNew('CreateVpcEndpoint', out.body);
        const state: ConnectionState = svc.acceptanceRequired ? 'pendingAcceptance' : 'available';
        conns.set(id, {
          serviceId: svc.serviceId,
          vpcEndpointId: id,
          vpcEndpointOwner: account,
          state,
          creationTimestamp: new Date().toISOString(),
          pendingPolls,
        });
        const answer = out.body.replace(/<state>[^<]*<\/state>/, `<state>${endpointStateOf(state)}</state>`);
        remember(200, answer);
        return send(res, 200, answer);
      }
      case 'CreateSecurityGroup': {
        const out = await pass();
        if (out.status === 200) lagNew('CreateSecurityGroup', out.body);
        return send(res, out.status, out.body);
      }
      case 'DescribeVpcEndpoints': {
        const out = await pass();
        if (out.status !== 200) return send(res, out.status, out.body);
        const body = mapSetItems(out.body, 'vpcEndpointSet', (item) => {
          const conn = conns.get(tagValue(item, 'vpcEndpointId') ?? '');
          if (!conn) return item;
          tick(conn);
          return item.replace(/<state>[^<]*<\/state>/, `<state>${endpointStateOf(conn.state)}</state>`);
        });
        return send(res, 200, listing(action, form, body));
      }
      case 'DescribeSecurityGroups': {
        const out = await pass();
        if (out.status !== 200) return send(res, out.status, out.body);
        return send(res, 200, listing(action, form, out.body));
      }
      case 'DeleteVpcEndpoints': {
        const out = await pass();
        if (out.status === 200) {
          for (const id of listParam(form, 'VpcEndpointId')) {
            const conn = conns.get(id);
            if (conn) conn.state = 'deleted';
          }
        }
        return send(res, out.status, out.body);
      }
      case 'AcceptVpcEndpointConnections':
      case 'RejectVpcEndpointConnections': {
        const svc = services.get(form.get('ServiceId') ?? '');
        if (!svc || svc.owner !== account) {
          return send(
            res,
            400,
            ec2Error(
              'InvalidVpcEndpointServiceId.NotFound',
              `The Vpc Endpoint Service Id '${form.get('ServiceId')}' does not exist`,
            ),
          );
        }
        const accept = action === 'AcceptVpcEndpointConnections';
        const unsuccessful: { id: string; code: string; message: string }[] = [];
        for (const id of listParam(form, 'VpcEndpointId')) {
          const conn = conns.get(id);
          if (!conn || conn.serviceId !== svc.serviceId || conn.state === 'deleted') {
            unsuccessful.push({
              id,
              code: 'InvalidVpcEndpointId.NotFound',
              message: `The Vpc Endpoint Id '${id}' does not exist`,
            });
          } else if (accept && conn.state !== 'pendingAcceptance') {
            unsuccessful.push({
              id,
              code: 'InvalidState',
              message: `Vpc Endpoint ${id} is in state ${conn.state}, not pendingAcceptance`,
            });
          } else if (!accept && !['pendingAcceptance', 'pending', 'available'].includes(conn.state)) {
            unsuccessful.push({
              id,
              code: 'InvalidState',
              message: `Vpc Endpoint ${id} is in state ${conn.state}`,
            });
          } else {
            conn.state = accept ? 'pending' : 'rejected';
            conn.pendingPolls = pendingPolls;
          }
        }
        return send(res, 200, ec2Response(action, unsuccessfulXml(unsuccessful)));
      }
      case 'DescribeVpcEndpointConnections': {
        const f = filters(form);
        const match = (name: string, value: string) => !f.has(name) || f.get(name)!.includes(value);
        const items = [...conns.values()]
          .filter((c) => services.get(c.serviceId)?.owner === account)
          .map((c) => (tick(c), c))
          .filter(
            (c) =>
              match('service-id', c.serviceId) &&
              match('vpc-endpoint-id', c.vpcEndpointId) &&
              match('vpc-endpoint-owner', c.vpcEndpointOwner) &&
              match('vpc-endpoint-state', c.state),
          )
          .map(
            (c) =>
              `<item><serviceId>${c.serviceId}</serviceId><vpcEndpointId>${c.vpcEndpointId}</vpcEndpointId><vpcEndpointOwner>${c.vpcEndpointOwner}</vpcEndpointOwner><vpcEndpointState>${c.state}</vpcEndpointState><creationTimestamp>${c.creationTimestamp}</creationTimestamp></item>`,
          );
        const set = items.length
          ? `<vpcEndpointConnectionSet>${items.join('')}</vpcEndpointConnectionSet>`
          : '<vpcEndpointConnectionSet/>';
        return send(res, 200, listing(action, form, ec2Response(action, set)));
      }
      default: {
        const out = await pass();
        return send(res, out.status, out.body);
      }
    }
  }

  /**
   * A list answer as AWS may give it: resources still lagging behind their create left out
   * of tag-filtered lists, items newest first when reversed, then cut to the page the
   * request's NextToken asks for when paging is on.
   */
  function listing(action: PagedAction, form: URLSearchParams, body: string): string {
    const set = PAGED_SETS[action];
    let out = body;
    const byTag = [...filters(form).keys()].some((name) => name.startsWith('tag:'));
    const lag = Object.values(LAGGED_LISTS).find((l) => l.list === action);
    if (byTag && lag !== undefined) {
      out = mapSetItems(out, set, (item) => {
        const id = tagValue(item, lag.id) ?? '';
        const left = hidden.get(id);
        if (left === undefined) return item;
        if (left <= 0) {
          hidden.delete(id);
          return item;
        }
        hidden.set(id, left - 1);
        return '';
      });
    }
    if (reversed.has(action)) out = reverseSetItems(out, set);
    const size = pageSizes.get(action);
    if (size === undefined) return out;
    const offset = Number(/^fake-page-(\d+)$/.exec(form.get('NextToken') ?? '')?.[1] ?? 0);
    return pageOf(out, set, offset, size);
  }

  /** ELBv2: forwarded to moto; the fake only overlays the `failed` state of load balancers. */
  function handleElb(
    action: string,
    form: URLSearchParams,
    res: ServerResponse,
    out: { status: number; body: string },
  ): void {
    if (out.status !== 200) return send(res, out.status, out.body);
    const withState = (item: string, code: string, reason?: string) =>
      item.replace(
        /<State>[\s\S]*?<\/State>/,
        `<State><Code>${code}</Code>${reason ? `<Reason>${xmlEscape(reason)}</Reason>` : ''}</State>`,
      );
    switch (action) {
      case 'CreateLoadBalancer': {
        if (nextLbFailure === undefined && activationLooks > 0) {
          provisioning.set(tagValue(out.body, 'LoadBalancerArn')!, activationLooks);
          return send(
            res,
            200,
            mapSetItems(out.body, 'LoadBalancers', (item) => withState(item, 'provisioning'), 'member'),
          );
        }
        if (nextLbFailure === undefined) return send(res, 200, out.body);
        const arn = tagValue(out.body, 'LoadBalancerArn')!;
        failedLbs.set(arn, nextLbFailure);
        nextLbFailure = undefined;
        return send(
          res,
          200,
          mapSetItems(out.body, 'LoadBalancers', (item) => withState(item, 'provisioning'), 'member'),
        );
      }
      case 'DescribeLoadBalancers': {
        const body = mapSetItems(
          out.body,
          'LoadBalancers',
          (item) => {
            const arn = tagValue(item, 'LoadBalancerArn') ?? '';
            const reason = failedLbs.get(arn);
            if (reason !== undefined) return withState(item, 'failed', reason);
            const left = provisioning.get(arn);
            if (left === undefined) return item;
            if (left <= 0) provisioning.delete(arn);
            else provisioning.set(arn, left - 1);
            return left <= 0 ? item : withState(item, 'provisioning');
          },
          'member',
        );
        return send(res, 200, body);
      }
      case 'DeleteLoadBalancer':
        failedLbs.delete(form.get('LoadBalancerArn') ?? '');
        return send(res, 200, out.body);
      default:
        return send(res, 200, out.body);
    }
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent)
        send(res, 500, ec2Error('InternalError', err instanceof Error ? err.message : String(err)));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    connections: () => [...conns.values()].map((c) => ({ ...c })),
    failLoadBalancer: (arn, reason) => void failedLbs.set(arn, reason),
    failNextLoadBalancer: (reason) => void (nextLbFailure = reason),
    failEndpointService: (id) => void failedServices.add(id),
    paginate: (action, pageSize) =>
      void (pageSize === undefined ? pageSizes.delete(action) : pageSizes.set(action, pageSize)),
    reverseListing: (action, on) => void (on ? reversed.add(action) : reversed.delete(action)),
    lagTags: (action, looks) => void lagArmed.set(action, looks),
    dropAnswer: (service, action, times = 1) => void drops.push({ service, action, times }),
    activateAfter: (looks) => void (activationLooks = looks),
    inject: (rule) => rules.push({ times: 1, ...rule }),
    faultsServed,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
