/**
 * The ENI rotation schedule, the way EKS does it on upgrades and maintenance: a new ENI
 * starts, DNS switches to the new set, and the oldest ENI stops a little later. Pure: the
 * scenario turns each step into real listeners and DNS records.
 */

export interface RotationStep {
  /** 1-based. */
  readonly index: number;
  /** When the new ENI starts and DNS switches, from the scenario start. */
  readonly atMs: number;
  readonly added: string;
  /** The DNS answer from `atMs` on. */
  readonly dnsAfter: readonly string[];
  /** When the old ENI stops listening (and its open connections end). */
  readonly removeAtMs: number;
  readonly removed: string;
}

export interface RotationPlanOptions {
  /** ENIs serving at the start, in DNS order. */
  readonly initial: readonly string[];
  /** Addresses for new ENIs, in order of use. */
  readonly spare: readonly string[];
  readonly durationMs: number;
  /** @default durationMs / 4, clamped to 2-8 s: at least three rotations in a run. */
  readonly intervalMs?: number;
  /** How long an old ENI keeps serving after DNS stops naming it. @default 60% of the interval, at most 3 s */
  readonly drainDelayMs?: number;
}

/** Rotation interval for a run: three rotations in a default run, never faster than one per 2 s. */
export function defaultIntervalMs(durationMs: number): number {
  return Math.min(8000, Math.max(2000, Math.floor(durationMs / 4)));
}

/** Every rotation that starts before the run ends (its removal may fall after: then it is skipped). */
export function planRotations(o: RotationPlanOptions): RotationStep[] {
  if (o.initial.length < 2) throw new RangeError('planRotations: start with at least two ENIs, as EKS does');
  const intervalMs = o.intervalMs ?? defaultIntervalMs(o.durationMs);
  const drainDelayMs = o.drainDelayMs ?? Math.min(3000, Math.floor(intervalMs * 0.6));
  if (drainDelayMs >= intervalMs)
    throw new RangeError('planRotations: drainDelayMs must be shorter than intervalMs');
  const steps: RotationStep[] = [];
  let current = [...o.initial];
  for (let i = 0; ; i++) {
    const atMs = intervalMs * (i + 1);
    const added = o.spare[i];
    if (atMs >= o.durationMs || added === undefined) break;
    const [removed, ...rest] = current as [string, ...string[]];
    current = [...rest, added];
    steps.push({ index: i + 1, atMs, added, dnsAfter: current, removeAtMs: atMs + drainDelayMs, removed });
  }
  return steps;
}

/** `prefix.first` .. `prefix.last` (IPv4 /24 loopback blocks in the demo). */
export function addressRange(prefix: string, first: number, last: number): string[] {
  return Array.from({ length: last - first + 1 }, (_, i) => `${prefix}.${first + i}`);
}
