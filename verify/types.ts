/** The hops `ekslink verify` walks, in order. The runner stops at the first that fails. */
export const HOPS = ['resolve', 'tcp-connect', 'tls-handshake', 'http-version', 'http-readyz'] as const;
export type HopName = (typeof HOPS)[number];

/**
 * ok: the hop works. warn: the hop works but something needs attention (the runner goes on).
 * fail: the hop does not work (the runner stops). skipped: not run because an earlier hop failed.
 */
export type HopStatus = 'ok' | 'warn' | 'fail' | 'skipped';

/** What one hop found. `code` is an EKL_VERIFY_* code from verify/errors.ts when status is warn or fail. */
export interface HopResult {
  readonly hop: HopName;
  readonly status: HopStatus;
  readonly latencyMs: number;
  /** One line for a person: what was checked and what came back. */
  readonly summary: string;
  readonly code?: string;
  /** What to check next, when status is warn or fail. */
  readonly hint?: string;
  /** Facts for --output json (addresses, certificate names, status codes); never secrets. */
  readonly details: Readonly<Record<string, unknown>>;
}

/** Where to connect and how to check the peer, from flags or a kubeconfig. */
export interface VerifyTarget {
  /** Host name or IP literal (no brackets) of the server. */
  readonly host: string;
  readonly port: number;
  /** SNI and the name the certificate must carry. Undefined: the host itself (no SNI for an IP). */
  readonly tlsServerName?: string;
  /** PEM of the CA bundle that must have signed the server certificate. Undefined: Node's default roots. */
  readonly caPem?: string;
  /** Where the CA came from, for the report (a file path or "kubeconfig <path> cluster <name>"). */
  readonly caSource?: string;
  /** Where the target came from, for the report. */
  readonly source: string;
}

/**
 * Resolves a host name to addresses; throws a Node DNS error (code ENOTFOUND, ESERVFAIL, ...) on failure.
 * `signal` aborts when the hop's timeout fires: a lookup that can, cancels its queries then.
 */
export type LookupFn = (hostname: string, signal?: AbortSignal) => Promise<string[]>;

/** Monotonic milliseconds. */
export type Clock = () => number;

/** Shared by every hop. */
export interface HopContext {
  readonly target: VerifyTarget;
  /** Bound on each hop (and on each address within a hop). */
  readonly timeoutMs: number;
  readonly now: Clock;
}

/** The whole run, as printed by report.ts and returned by runVerify. */
export interface VerifyReport {
  readonly ok: boolean;
  /** The first hop whose status is fail. */
  readonly failedHop?: HopName;
  readonly target: {
    readonly server: string;
    readonly tlsServerName: string | null;
    readonly ca: string;
    readonly source: string;
  };
  readonly hops: readonly HopResult[];
  readonly totalMs: number;
}
