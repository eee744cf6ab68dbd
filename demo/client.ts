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
