/**
 * An IAM-enforcing loopback front for the AWS fakes and moto: every request is tied to the
 * identity its access key belongs to, mapped to the authorizations AWS makes for it
 * (iam-requests.ts), and evaluated against that identity's policies (iam-evaluate.ts). A
 * denied request gets the service's real access-denied answer and never reaches moto; an
 * allowed one is forwarded unchanged. Every decision is logged with the statements that
 * allowed it. Spec: fake-iam.md; its own tests: fake-iam.test.ts, iam-evaluate.test.ts.
 */
import { randomUUID } from 'node:crypto';
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { motoFacts } from './fake-iam-facts.js';
import { evaluate, type AuthorizationRequest, type Decision, type EvaluatedPolicy } from './iam-evaluate.js';
import {
  MissingResourceError,
  authorizationsFor,
  route53Call,
  type ApiCall,
  type ResourceFacts,
} from './iam-requests.js';
import { readBody, xmlEscape } from './fake-http.js';

export interface IamFrontOptions {
  /** moto: where identities and resource facts are read. */
  readonly motoUrl: string;
  /** Every account of the test: where the owner of an endpoint service is looked for. @default none */
  readonly accounts?: readonly string[];
  /** Where allowed requests go, per SigV4 service (`route53` -> the Route 53 fake); default moto. */
  readonly upstreams?: Readonly<Record<string, string>>;
}

/** One authorization of one request and what IAM decided. */
export interface LoggedAuthorization extends AuthorizationRequest {
  readonly decision: Decision['decision'];
  /** Sids of the statements that allowed it (all that matched). */
  readonly allowedBy: readonly string[];
}

/** One request the front judged. */
export interface LoggedCall {
  /** The principal whose policies were evaluated: a role ARN for assumed-role sessions. */
  readonly principal: string;
  readonly account: string;
  readonly service: string;
  readonly operation: string;
  readonly authorizations: readonly LoggedAuthorization[];
  readonly outcome: 'allowed' | 'denied' | 'refused';
}

export interface IamFront {
  readonly url: string;
  /** Set (replace) the identity policies of a principal (`arn:aws:iam::<account>:role/<name>`). */
  setPolicies(principal: string, policies: readonly EvaluatedPolicy[]): void;
  /** The principal an access key acts as (moto's GetCallerIdentity, roles for assumed-role sessions). */
  principalOf(accessKeyId: string): Promise<{ principal: string; account: string }>;
  readonly log: LoggedCall[];
  /** Requests the front could not judge (no mapping, bad policy): each was refused. */
  readonly failures: string[];
  stop(): Promise<void>;
}

/** `arn:aws:sts::1:assumed-role/R/S` -> `arn:aws:iam::1:role/R`; other ARNs as they are. */
export function principalArn(callerArn: string): string {
  const m = /^arn:([^:]+):sts::(\d{12}):assumed-role\/([^/]+)\/.+$/.exec(callerArn);
  return m ? `arn:${m[1]}:iam::${m[2]}:role/${m[3]}` : callerArn;
}

function partitionOf(region: string): string {
  return region.startsWith('cn-') ? 'aws-cn' : region.startsWith('us-gov-') ? 'aws-us-gov' : 'aws';
}

/** The access-denied answer each service gives, in its own XML shape and HTTP status. */
export function deniedAnswer(service: string, message: string): { status: number; body: string } {
  const id = randomUUID();
  const text = xmlEscape(message);
  if (service === 'ec2')
    return {
      status: 403,
      body: `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>${text}</Message></Error></Errors><RequestID>${id}</RequestID></Response>`,
    };
  const ns =
    service === 'route53'
      ? ' xmlns="https://route53.amazonaws.com/doc/2013-04-01/"'
      : service === 'elasticloadbalancing'
        ? ' xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"'
        : ' xmlns="https://sts.amazonaws.com/doc/2011-06-15/"';
  return {
    status: 403,
    body: `<?xml version="1.0" encoding="UTF-8"?><ErrorResponse${ns}><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>${text}</Message></Error><RequestId>${id}</RequestId></ErrorResponse>`,
  };
}

export async function startIamFront(options: IamFrontOptions): Promise<IamFront> {
  const moto = new URL(options.motoUrl);
  const facts: ResourceFacts = motoFacts(options.motoUrl, options.accounts);
  const policies = new Map<string, readonly EvaluatedPolicy[]>();
  const identities = new Map<string, { principal: string; account: string }>();
  const log: LoggedCall[] = [];
  const failures: string[] = [];

  async function principalOf(accessKeyId: string) {
    const known = identities.get(accessKeyId);
    if (known) return known;
    const res = await fetch(`${options.motoUrl}/`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `AWS4-HMAC-SHA256 Credential=${accessKeyId}/20240101/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=0`,
      },
      body: 'Action=GetCallerIdentity&Version=2011-06-15',
    });
    const xml = await res.text();
    const arn = /<Arn>([^<]+)<\/Arn>/.exec(xml)?.[1];
    const account = /<Account>(\d{12})<\/Account>/.exec(xml)?.[1];
    if (!arn || !account)
      throw new Error(`IAM front: moto did not say who access key ${accessKeyId} is: ${xml}`);
    const identity = { principal: principalArn(arn), account };
    identities.set(accessKeyId, identity);
    return identity;
  }

  function forward(target: URL, req: IncomingMessage, body: Buffer, res: ServerResponse): void {
    const out = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: target.host, 'content-length': String(body.length) },
      },
      (up) => {
        res.writeHead(up.statusCode ?? 500, up.headers);
        up.pipe(res);
      },
    );
    // An upstream that hangs up without answering (a fake's lost answer): so does the front.
    out.on('error', () => res.socket?.destroy());
    out.end(body);
  }

  function send(res: ServerResponse, answer: { status: number; body: string }): void {
    res.writeHead(answer.status, {
      'content-type': 'text/xml',
      'content-length': String(Buffer.byteLength(answer.body)),
    });
    res.end(answer.body);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const scope = /Credential=([^/]+)\/[^/]+\/([^/]+)\/([^/]+)\//.exec(req.headers.authorization ?? '');
    const upstreamFor = (service: string) => new URL(options.upstreams?.[service] ?? moto.href);
    if (scope === null) {
      failures.push(`unsigned request ${req.method} ${req.url}`);
      return send(res, deniedAnswer('sts', 'IAM front: the request carries no SigV4 credential'));
    }
    const [, accessKey, region, service] = scope as unknown as [string, string, string, string];
    const url = new URL(req.url ?? '/', 'http://front');
    let operation: string;
    let params: URLSearchParams;
    if (service === 'route53') {
      const parsed = route53Call(req.method ?? 'GET', url, body.toString());
      operation = parsed?.operation ?? `${req.method} ${url.pathname}`;
      params = parsed?.params ?? new URLSearchParams();
    } else {
      params = new URLSearchParams(body.toString());
      operation = params.get('Action') ?? '';
    }
    const { principal, account } = await principalOf(accessKey);
    const call: ApiCall = { service, operation, region, account, partition: partitionOf(region), params };
    const refuse = (why: string) => {
      failures.push(why);
      log.push({ principal, account, service, operation, authorizations: [], outcome: 'refused' });
      return send(res, deniedAnswer(service, `IAM front refused ${service}:${operation}: ${why}`));
    };
    const attached = policies.get(principal);
    if (attached === undefined)
      return refuse(`no identity policy is set for ${principal} (setPolicies) in the IAM front`);
    let requests: AuthorizationRequest[];
    try {
      requests = await authorizationsFor(call, facts);
    } catch (err) {
      // A named resource that does not exist: the service answers NotFound, as AWS does.
      if (err instanceof MissingResourceError) return forward(upstreamFor(service), req, body, res);
      return refuse(err instanceof Error ? err.message : String(err));
    }
    const judged: LoggedAuthorization[] = [];
    try {
      for (const r of requests) {
        const d = evaluate(attached, r);
        judged.push({
          ...r,
          decision: d.decision,
          allowedBy: d.allowedBy.map((ref) => ref.sid ?? `#${ref.policy}.${ref.statement}`),
        });
      }
    } catch (err) {
      return refuse(err instanceof Error ? err.message : String(err));
    }
    const denied = judged.find((j) => j.decision !== 'allow');
    log.push({
      principal,
      account,
      service,
      operation,
      authorizations: judged,
      outcome: denied ? 'denied' : 'allowed',
    });
    if (denied) {
      const why =
        denied.decision === 'explicit-deny'
          ? 'with an explicit deny in an identity-based policy'
          : `because no identity-based policy allows the ${denied.action} action`;
      return send(
        res,
        deniedAnswer(
          service,
          `User: ${principal} is not authorized to perform: ${denied.action} on resource: ${denied.resource} ${why}`,
        ),
      );
    }
    forward(upstreamFor(service), req, body, res);
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      failures.push(`IAM front fault: ${String(err)}`);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`IAM front internal error: ${String(err)}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    setPolicies: (principal, docs) => void policies.set(principal, docs),
    principalOf,
    log,
    failures,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
