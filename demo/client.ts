/**
 * What the demo asks of a Kubernetes client: one request that says which ENI answered, and
 * one long-lived watch. Two implementations: the real kubectl, and a built-in client for
 * machines without kubectl.
 */

/** Where the client connects and how it verifies the server. */
export interface ClientTarget {
  /** e.g. https://127.0.0.1:8443 (the proxy) or https://127.0.10.1:443 (an ENI, pinned). */
  readonly server: string;
  /** The EKS hostname the certificate is checked against. */
  readonly tlsServerName: string;
  readonly caCertPem: string;
  readonly token: string;
}

export type RequestResult =
  | { readonly ok: true; readonly eni: string; readonly latencyMs: number }
  | { readonly ok: false; readonly error: string; readonly latencyMs: number };

export interface WatchHandlers {
  /** One watch event arrived; `eni` is the ENI that streams it. */
  onEvent(name: string, eni: string): void;
  /** The stream ended: `error` is set when it could not be opened or broke with an error. */
  onEnd(error?: string): void;
}

export interface WatchHandle {
  stop(): void;
}

export interface DemoClient {
  readonly kind: 'kubectl' | 'builtin';
  /** GET /ekslink/eni on a new connection (as a fresh kubectl invocation does). */
  request(timeoutMs: number): Promise<RequestResult>;
  /** Starts one watch stream of ConfigMaps in the default namespace. */
  watch(handlers: WatchHandlers): WatchHandle;
  /** Releases temp files and the like. */
  close(): Promise<void>;
}

/** The stand-in path whose body names the ENI that answered. */
export const ENI_PATH = '/ekslink/eni';

/** The first line of a client's error output, trimmed to fit one terminal line. */
export function shortError(text: string): string {
  const line = text.split('\n').find((l) => l.trim() !== '') ?? 'unknown error';
  const t = line.trim().replace(/^error: /i, '');
  return t.length > 100 ? `${t.slice(0, 97)}...` : t;
}

/** Bound on a response body or on one unfinished watch line a client buffers. */
export const MAX_BODY_BYTES = 64 * 1024;

/** The result of a GET ENI_PATH whose body arrived: the `eni` field, or why the body is not the stand-in's. */
export function eniResult(body: string, latencyMs: number): RequestResult {
  try {
    const eni = (JSON.parse(body) as { eni?: unknown }).eni;
    if (typeof eni === 'string') return { ok: true, eni, latencyMs };
  } catch {
    // not JSON: reported below
  }
  return { ok: false, error: `unexpected response: ${shortError(body)}`, latencyMs };
}

/**
 * Splits a text stream into lines for a watch. Each complete line goes to `onLine`; it returns
 * false to stop (the rest is ignored). Returns false once stopped, or when an unfinished line
 * grows past `maxPending` characters (the caller ends the stream).
 */
export function lineReader(
  onLine: (line: string) => boolean,
  maxPending = MAX_BODY_BYTES,
): (chunk: string) => boolean {
  let pending = '';
  let stopped = false;
  return (chunk) => {
    if (stopped) return false;
    pending += chunk;
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (!onLine(line)) {
        stopped = true;
        pending = '';
        return false;
      }
    }
    if (pending.length > maxPending) {
      stopped = true;
      pending = '';
      return false;
    }
    return true;
  };
}
