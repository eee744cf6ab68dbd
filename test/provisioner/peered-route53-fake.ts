/**
 * A stateful Route 53 front for moto: the cross-account private-hosted-zone association
 * calls moto lacks, with AWS's rules. Spec: peered-route53-fake.md (next to this file).
 *
 * It listens on loopback and receives every Route 53 call of a test (the SDK's route53
 * endpoint points here). The calls below are handled here; everything else is forwarded to
 * moto unchanged. Association state lives in moto (a cross-account association is forwarded
 * as the zone owner); the fake keeps only the authorizations.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const NS = 'https://route53.amazonaws.com/doc/2013-04-01/';
const ZONE_PATH =
  /^\/2013-04-01\/hostedzone\/([^/?]+)\/(authorizevpcassociation|deauthorizevpcassociation|associatevpc|disassociatevpc)\/?$/;
const BY_VPC_PATH = /^\/2013-04-01\/hostedzonesbyvpc\/?$/;
/** AWS's default quota of authorizations per zone is not documented as a number; keep one bound. */
const MAX_AUTHORIZATIONS_PER_ZONE = 100;

export interface Route53FakeOptions {
  /** moto server base URL, e.g. http://127.0.0.1:5000 */
  readonly motoUrl: string;
  /** Every account the test uses: where zone owners and VPC owners are looked for. */
  readonly accounts: readonly string[];
}

interface Vpc {
  readonly region: string;
  readonly id: string;
}

interface Zone {
  readonly id: string;
  readonly name: string;
  readonly owner: string;
  readonly private: boolean;
  readonly vpcs: Vpc[];
}

/** An AWS error as Route 53 sends it. */
class Route53Error extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** One call the fake answered, for tests that assert who called what. */
export interface Route53FakeCall {
  readonly operation: string;
  readonly account: string;
  readonly zoneId?: string;
  readonly outcome: 'ok' | string;
}

export class Route53Fake {
  readonly calls: Route53FakeCall[] = [];
  readonly #authorizations = new Map<string, Map<string, Vpc>>();
  readonly #server: Server;
  readonly #opts: Route53FakeOptions;

  private constructor(server: Server, opts: Route53FakeOptions) {
    this.#server = server;
    this.#opts = opts;
  }

  static async start(opts: Route53FakeOptions): Promise<Route53Fake> {
    const server = createServer();
    const fake = new Route53Fake(server, opts);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      fake.#handle(req, res).catch((err: unknown) => {
        // A fault of the fake itself (moto unreachable): a 500 the SDK reports, never a hang.
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`Route53Fake internal error: ${String(err)}`);
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return fake;
  }

  /** Endpoint URL for the Route 53 client. */
  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** Authorizations open now for a zone (bare ID), as `region/vpc-id`. */
  authorizations(zoneId: string): string[] {
    return [...(this.#authorizations.get(bareId(zoneId))?.keys() ?? [])];
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://fake');
    const zoneMatch = ZONE_PATH.exec(url.pathname);
    const isByVpc = BY_VPC_PATH.test(url.pathname) && req.method === 'GET';
    if (!zoneMatch && !isByVpc) return this.#forward(req, res, body);
    let operation = 'ListHostedZonesByVPC';
    let account = '?';
    try {
      account = await this.#callerAccount(req);
      if (isByVpc) {
        const vpc = {
          id: url.searchParams.get('vpcid') ?? '',
          region: url.searchParams.get('vpcregion') ?? '',
        };
        return this.#reply(res, 200, await this.#listByVpc(account, vpc));
      }
      const zoneId = bareId(decodeURIComponent(zoneMatch![1]!));
      const action = zoneMatch![2]!;
      operation = operationName(action, req.method ?? 'GET');
      const xml = await this.#zoneCall(operation, account, zoneId, body, req, res);
      this.calls.push({ operation, account, zoneId, outcome: 'ok' });
      if (xml !== undefined) this.#reply(res, 200, xml);
    } catch (err) {
      if (!(err instanceof Route53Error)) throw err;
      this.calls.push({ operation, account, outcome: err.code });
      this.#reply(
        res,
        err.status,
        `<ErrorResponse xmlns="${NS}"><Error><Type>Sender</Type><Code>${err.code}</Code><Message>${escapeXml(err.message)}</Message></Error><RequestId>fake-${Date.now()}</RequestId></ErrorResponse>`,
      );
    }
  }

  /** Returns the XML to send, or undefined when the call was forwarded to moto (already answered). */
  async #zoneCall(
    operation: string,
    account: string,
    zoneId: string,
    body: Buffer,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<string | undefined> {
    switch (operation) {
      case 'CreateVPCAssociationAuthorization': {
        const zone = await this.#ownZone(account, zoneId);
        const vpc = vpcFrom(body);
        if (!zone.private) throw publicZone(zoneId);
        const auths = this.#authorizations.get(zone.id) ?? new Map<string, Vpc>();
        if (!auths.has(key(vpc)) && auths.size >= MAX_AUTHORIZATIONS_PER_ZONE) {
          throw new Route53Error(
            400,
            'TooManyVPCAssociationAuthorizations',
            'You have reached the maximum number of authorizations for this hosted zone.',
          );
        }
        auths.set(key(vpc), vpc);
        this.#authorizations.set(zone.id, auths);
        return `<CreateVPCAssociationAuthorizationResponse xmlns="${NS}"><HostedZoneId>${zone.id}</HostedZoneId>${vpcXml(vpc)}</CreateVPCAssociationAuthorizationResponse>`;
      }
      case 'DeleteVPCAssociationAuthorization': {
        const zone = await this.#ownZone(account, zoneId);
        const vpc = vpcFrom(body);
        const auths = this.#authorizations.get(zone.id);
        if (!auths?.delete(key(vpc))) {
          throw new Route53Error(
            404,
            'VPCAssociationAuthorizationNotFound',
            `The VPC ${vpc.id} in ${vpc.region} was not authorized to be associated with hosted zone ${zone.id}.`,
          );
        }
        return `<DeleteVPCAssociationAuthorizationResponse xmlns="${NS}"/>`;
      }
      case 'ListVPCAssociationAuthorizations': {
        const zone = await this.#ownZone(account, zoneId);
        const vpcs = [...(this.#authorizations.get(zone.id)?.values() ?? [])];
        return `<ListVPCAssociationAuthorizationsResponse xmlns="${NS}"><HostedZoneId>${zone.id}</HostedZoneId><VPCs>${vpcs.map(vpcXml).join('')}</VPCs></ListVPCAssociationAuthorizationsResponse>`;
      }
      case 'AssociateVPCWithHostedZone': {
        const zone = await this.#anyZone(zoneId);
        const vpc = vpcFrom(body);
        if (!zone.private) throw publicZone(zoneId);
        if (zone.owner !== account) {
          await this.#requireVpcOwner(account, vpc);
          if (!this.#authorizations.get(zone.id)?.has(key(vpc))) {
            throw new Route53Error(
              401,
              'NotAuthorizedException',
              `The VPC ${vpc.id} in ${vpc.region} has not been authorized to be associated with hosted zone ${zone.id}; the zone owner must call CreateVPCAssociationAuthorization first.`,
            );
          }
        }
        if (zone.vpcs.some((v) => key(v) === key(vpc))) {
          throw new Route53Error(
            400,
            'ConflictingDomainExists',
            `The VPC ${vpc.id} in ${vpc.region} is already associated with hosted zone ${zone.id} (${zone.name}).`,
          );
        }
        await this.#forward(
          req,
          res,
          Buffer.from(bodyFor('AssociateVPCWithHostedZoneRequest', vpc)),
          zone.owner,
        );
        return undefined;
      }
      case 'DisassociateVPCFromHostedZone': {
        const zone = await this.#anyZone(zoneId);
        const vpc = vpcFrom(body);
        if (zone.owner !== account) await this.#requireVpcOwner(account, vpc);
        if (!zone.vpcs.some((v) => key(v) === key(vpc))) {
          throw new Route53Error(
            404,
            'VPCAssociationNotFound',
            `The VPC ${vpc.id} in ${vpc.region} is not associated with hosted zone ${zone.id}.`,
          );
        }
        if (zone.vpcs.length === 1) {
          throw new Route53Error(
            400,
            'LastVPCAssociation',
            'The VPC is the last VPC associated with the hosted zone; Route 53 cannot disassociate it.',
          );
        }
        await this.#forward(
          req,
          res,
          Buffer.from(bodyFor('DisassociateVPCFromHostedZoneRequest', vpc)),
          zone.owner,
        );
        return undefined;
      }
      default:
        throw new Route53Error(400, 'InvalidInput', `unsupported operation ${operation}`);
    }
  }

  async #listByVpc(account: string, vpc: Vpc): Promise<string> {
    if (vpc.id === '' || vpc.region === '')
      throw new Route53Error(400, 'InvalidInput', 'vpcid and vpcregion are required');
    await this.#requireVpcOwner(account, vpc);
    const summaries: string[] = [];
    for (const owner of this.#opts.accounts) {
      for (const zone of await this.#zonesOf(owner)) {
        if (zone.vpcs.some((v) => key(v) === key(vpc))) {
          summaries.push(
            `<HostedZoneSummary><HostedZoneId>${zone.id}</HostedZoneId><Name>${zone.name}</Name><Owner><OwningAccount>${owner}</OwningAccount></Owner></HostedZoneSummary>`,
          );
        }
      }
    }
    return `<ListHostedZonesByVPCResponse xmlns="${NS}"><HostedZoneSummaries>${summaries.join('')}</HostedZoneSummaries><MaxItems>100</MaxItems></ListHostedZonesByVPCResponse>`;
  }

  /** The zone in the caller's own account; a zone of another account does not exist for it. */
  async #ownZone(account: string, zoneId: string): Promise<Zone> {
    const zone = await this.#getZone(account, zoneId);
    if (!zone) throw noSuchZone(zoneId);
    return zone;
  }

  async #anyZone(zoneId: string): Promise<Zone> {
    for (const owner of this.#opts.accounts) {
      const zone = await this.#getZone(owner, zoneId);
      if (zone) return zone;
    }
    throw noSuchZone(zoneId);
  }

  async #getZone(account: string, zoneId: string): Promise<Zone | undefined> {
    const res = await this.#moto('GET', `/2013-04-01/hostedzone/${zoneId}`, account, 'route53');
    if (res.status === 404) return undefined;
    if (res.status !== 200)
      throw new Error(`moto GetHostedZone ${zoneId} as ${account}: HTTP ${res.status} ${res.text}`);
    return parseZone(res.text, account);
  }

  async #zonesOf(account: string): Promise<Zone[]> {
    const res = await this.#moto('GET', '/2013-04-01/hostedzone', account, 'route53');
    const ids = [...res.text.matchAll(/<Id>\/hostedzone\/([^<]+)<\/Id>/g)].map((m) => m[1]!);
    const zones = await Promise.all(ids.map((id) => this.#getZone(account, id)));
    return zones.filter((z): z is Zone => z !== undefined);
  }

  /** AWS: only the VPC's owner may associate it with (or disassociate it from) another account's zone. */
  async #requireVpcOwner(account: string, vpc: Vpc): Promise<void> {
    const res = await this.#moto(
      'POST',
      '/',
      account,
      'ec2',
      vpc.region,
      `Action=DescribeVpcs&Version=2016-11-15&VpcId.1=${encodeURIComponent(vpc.id)}`,
    );
    if (!res.text.includes(`<vpcId>${vpc.id}</vpcId>`)) {
      throw new Route53Error(
        400,
        'InvalidVPCId',
        `The VPC ${vpc.id} in ${vpc.region} does not exist or is not owned by account ${account}.`,
      );
    }
  }

  /** Who is calling: moto's own answer to GetCallerIdentity with the caller's credentials. */
  async #callerAccount(req: IncomingMessage): Promise<string> {
    const header = req.headers['x-moto-account-id'];
    if (typeof header === 'string') return header;
    const auth = req.headers.authorization ?? '';
    const res = await fetch(`${this.#opts.motoUrl}/`, {
      method: 'POST',
      headers: {
        authorization: auth.replace(/\/route53\/aws4_request/, '/sts/aws4_request'),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'Action=GetCallerIdentity&Version=2011-06-15',
    });
    const m = /<Account>(\d{12})<\/Account>/.exec(await res.text());
    if (!m) throw new Error('Route53Fake: could not learn the caller account from moto');
    return m[1]!;
  }

  async #moto(
    method: string,
    path: string,
    account: string,
    service: string,
    region = 'us-east-1',
    body?: string,
  ): Promise<{ status: number; text: string }> {
    const res = await fetch(`${this.#opts.motoUrl}${path}`, {
      method,
      headers: {
        // moto reads the service from the credential scope and does not check signatures.
        authorization: `AWS4-HMAC-SHA256 Credential=fake/20240101/${region}/${service}/aws4_request, SignedHeaders=host, Signature=0`,
        'x-moto-account-id': account,
        ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      ...(body ? { body } : {}),
    });
    return { status: res.status, text: await res.text() };
  }

  /** Pass a request to moto; `asAccount` makes moto act in that account (the zone owner). */
  async #forward(req: IncomingMessage, res: ServerResponse, body: Buffer, asAccount?: string): Promise<void> {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) {
      if (typeof v === 'string' && !['host', 'content-length', 'connection'].includes(k)) headers[k] = v;
    }
    if (asAccount !== undefined) headers['x-moto-account-id'] = asAccount;
    const upstream = await fetch(`${this.#opts.motoUrl}${req.url ?? '/'}`, {
      method: req.method ?? 'GET',
      headers,
      ...(body.length > 0 ? { body } : {}),
    });
    const out = Buffer.from(await upstream.arrayBuffer());
    res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'text/xml' });
    res.end(out);
  }

  #reply(res: ServerResponse, status: number, xml: string): void {
    res.writeHead(status, { 'content-type': 'text/xml' });
    res.end(`<?xml version="1.0" encoding="UTF-8"?>\n${xml}`);
  }
}

function operationName(action: string, method: string): string {
  if (action === 'authorizevpcassociation')
    return method === 'GET' ? 'ListVPCAssociationAuthorizations' : 'CreateVPCAssociationAuthorization';
  if (action === 'deauthorizevpcassociation') return 'DeleteVPCAssociationAuthorization';
  if (action === 'associatevpc') return 'AssociateVPCWithHostedZone';
  return 'DisassociateVPCFromHostedZone';
}

function bareId(id: string): string {
  return id.replace(/^\/?hostedzone\//, '');
}

function key(vpc: Vpc): string {
  return `${vpc.region}/${vpc.id}`;
}

function vpcFrom(body: Buffer): Vpc {
  const text = body.toString('utf8');
  const id = /<VPCId>([^<]+)<\/VPCId>/.exec(text)?.[1];
  const region = /<VPCRegion>([^<]+)<\/VPCRegion>/.exec(text)?.[1];
  if (!id || !region) throw new Route53Error(400, 'InvalidInput', 'VPC.VPCId and VPC.VPCRegion are required');
  if (!/^vpc-[0-9a-f]+$/.test(id)) throw new Route53Error(400, 'InvalidVPCId', `${id} is not a VPC ID`);
  return { id, region };
}

function vpcXml(vpc: Vpc): string {
  return `<VPC><VPCRegion>${vpc.region}</VPCRegion><VPCId>${vpc.id}</VPCId></VPC>`;
}

function bodyFor(root: string, vpc: Vpc): string {
  return `<?xml version="1.0" encoding="UTF-8"?><${root} xmlns="${NS}">${vpcXml(vpc)}</${root}>`;
}

function parseZone(xml: string, owner: string): Zone {
  const id = bareId(/<HostedZone>[\s\S]*?<Id>([^<]+)<\/Id>/.exec(xml)?.[1] ?? '');
  const name = /<HostedZone>[\s\S]*?<Name>([^<]+)<\/Name>/.exec(xml)?.[1] ?? '';
  const isPrivate = /<PrivateZone>true<\/PrivateZone>/i.test(xml);
  const vpcs = [...xml.matchAll(/<VPC>([\s\S]*?)<\/VPC>/g)].map((m) => ({
    region: /<VPCRegion>([^<]+)<\/VPCRegion>/.exec(m[1]!)?.[1] ?? '',
    id: /<VPCId>([^<]+)<\/VPCId>/.exec(m[1]!)?.[1] ?? '',
  }));
  return { id, name, owner, private: isPrivate, vpcs };
}

function noSuchZone(zoneId: string): Route53Error {
  return new Route53Error(404, 'NoSuchHostedZone', `No hosted zone found with ID: ${zoneId}`);
}

function publicZone(zoneId: string): Route53Error {
  return new Route53Error(
    400,
    'PublicZoneVPCAssociation',
    `Hosted zone ${zoneId} is public; only private hosted zones have VPC associations.`,
  );
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function escapeXml(s: string): string {
  return s.replace(/[<>&]/g, (c) => (c === '<' ? '&lt;' : c === '>' ? '&gt;' : '&amp;'));
}
