import { isIP } from 'node:net';
import { Agent, request } from 'undici';
import type { HopContext, HopName, HopResult } from './types.js';

/** Bound on a response body read for the report. */
const MAX_BODY_BYTES = 64 * 1024;

/** An undici Agent that verifies exactly as the TLS hop did: SNI = tls-server-name, the given CA. */
export function createVerifyAgent(ctx: HopContext): Agent {
  const { target } = ctx;
  const servername = target.tlsServerName;
  return new Agent({
    connect: {
      ...(servername !== undefined && isIP(servername) === 0 ? { servername } : {}),
      ...(target.caPem === undefined ? {} : { ca: target.caPem }),
      rejectUnauthorized: true,
      timeout: ctx.timeoutMs,
    },
    headersTimeout: ctx.timeoutMs,
    bodyTimeout: ctx.timeoutMs,
    connections: 1,
  });
}

interface Fetched {
  readonly status: number;
  readonly body: string;
}

async function get(agent: Agent, ctx: HopContext, address: string, path: string): Promise<Fetched> {
  const host = isIP(address) === 6 ? `[${address}]` : address;
  const res = await request(`https://${host}:${ctx.target.port}${path}`, {
    dispatcher: agent,
    method: 'GET',
    headers: { accept: 'application/json, */*' },
    signal: AbortSignal.timeout(ctx.timeoutMs),
  });
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    const buf = chunk as Buffer;
    chunks.push(buf);
    size += buf.length;
    if (size >= MAX_BODY_BYTES) {
      res.body.destroy();
      break;
    }
  }
  return { status: res.statusCode, body: Buffer.concat(chunks).toString('utf8').slice(0, MAX_BODY_BYTES) };
}

/** The `message` of a Kubernetes Status object, else the first line of the body, bounded. */
function bodyHint(body: string): string {
  try {
    const parsed = JSON.parse(body) as { message?: unknown };
    if (typeof parsed.message === 'string') return parsed.message.slice(0, 200);
  } catch {
    // not JSON: fall through to the text
  }
  return body.split('\n').slice(0, 8).join(' | ').slice(0, 300);
}

function authWarning(hop: HopName, path: string, status: number, latencyMs: number, body: string): HopResult {
  const code = status === 401 ? 'EKL_VERIFY_HTTP_UNAUTHORIZED' : 'EKL_VERIFY_HTTP_FORBIDDEN';
  const why = status === 401 ? 'anonymous authentication is off' : 'RBAC denies system:anonymous';
  return {
    hop,
    status: 'warn',
    latencyMs,
    summary: `GET ${path} -> ${status}: the API server answered, so the network path works; ${why}`,
    code,
    hint: 'nothing to fix on the path; to check access, use credentials: kubectl --kubeconfig F get --raw /version',
    details: { path, status, message: bodyHint(body) },
  };
}

function requestFailure(hop: HopName, path: string, latencyMs: number, err: unknown): HopResult {
  const e = err as NodeJS.ErrnoException;
  const code = e.code ?? e.name;
  return {
    hop,
    status: 'fail',
    latencyMs,
    summary: `GET ${path} failed: ${code} (${e.message})`,
    code: 'EKL_VERIFY_HTTP_FAILED',
    hint: 'a timeout after a good TLS handshake points at the API server or at an MTU problem on the path',
    details: { path, error: code },
  };
}

/** Hop 4: anonymous GET /version; prints gitVersion. */
export async function checkVersion(ctx: HopContext, agent: Agent, address: string): Promise<HopResult> {
  const start = ctx.now();
  const path = '/version';
  let res: Fetched;
  try {
    res = await get(agent, ctx, address, path);
  } catch (err) {
    return requestFailure('http-version', path, ctx.now() - start, err);
  }
  const latencyMs = ctx.now() - start;
  if (res.status === 401 || res.status === 403)
    return authWarning('http-version', path, res.status, latencyMs, res.body);
  if (res.status !== 200) {
    return {
      hop: 'http-version',
      status: 'fail',
      latencyMs,
      summary: `GET ${path} -> ${res.status}: ${bodyHint(res.body)}`,
      code: 'EKL_VERIFY_HTTP_STATUS',
      hint:
        res.status >= 500
          ? 'the API server itself reports an error: check the cluster in the EKS console'
          : 'unexpected status from the API server',
      details: { path, status: res.status, message: bodyHint(res.body) },
    };
  }
  let gitVersion: unknown;
  try {
    gitVersion = (JSON.parse(res.body) as { gitVersion?: unknown }).gitVersion;
  } catch {
    gitVersion = undefined;
  }
  if (typeof gitVersion !== 'string') {
    return {
      hop: 'http-version',
      status: 'fail',
      latencyMs,
      summary: `GET ${path} -> 200 but not Kubernetes version JSON (no gitVersion): ${bodyHint(res.body)}`,
      code: 'EKL_VERIFY_HTTP_BAD_BODY',
      hint: 'something other than a Kubernetes API server answered: check --server',
      details: { path, status: res.status },
    };
  }
  return {
    hop: 'http-version',
    status: 'ok',
    latencyMs,
    summary: `GET ${path} -> 200, gitVersion ${gitVersion}`,
    details: { path, status: res.status, gitVersion },
  };
}

/** Hop 5: anonymous GET /readyz. */
export async function checkReadyz(ctx: HopContext, agent: Agent, address: string): Promise<HopResult> {
  const start = ctx.now();
  const path = '/readyz';
  let res: Fetched;
  try {
    res = await get(agent, ctx, address, path);
  } catch (err) {
    return requestFailure('http-readyz', path, ctx.now() - start, err);
  }
  const latencyMs = ctx.now() - start;
  if (res.status === 401 || res.status === 403)
    return authWarning('http-readyz', path, res.status, latencyMs, res.body);
  if (res.status !== 200) {
    return {
      hop: 'http-readyz',
      status: 'fail',
      latencyMs,
      summary: `GET ${path} -> ${res.status}: the API server is not ready: ${bodyHint(res.body)}`,
      code: 'EKL_VERIFY_HTTP_NOT_READY',
      hint: 'check the cluster status (aws eks describe-cluster) and retry after an update finishes',
      details: { path, status: res.status, message: bodyHint(res.body) },
    };
  }
  return {
    hop: 'http-readyz',
    status: 'ok',
    latencyMs,
    summary: `GET ${path} -> 200 ${res.body.trim().slice(0, 40)}`,
    details: { path, status: res.status },
  };
}
