/** Small text helpers shared by the live view and the summary. */

/** Per-ENI counts on one line; a shared /24 prefix is printed once ("127.0.10.{1: 12, 2: 9}"). */
export function formatServedBy(servedBy: ReadonlyMap<string, number>): string {
  const entries = [...servedBy.entries()].sort(([a], [b]) => compareAddresses(a, b));
  if (entries.length === 0) return '(none yet)';
  const prefix = commonPrefix(entries.map(([a]) => a));
  if (prefix === undefined) return entries.map(([a, n]) => `${a} ${n}`).join('  ');
  return `${prefix}.{${entries.map(([a, n]) => `${a.slice(prefix.length + 1)}: ${n}`).join(', ')}}`;
}

export function formatAddresses(addresses: readonly string[]): string {
  return addresses.length === 0 ? '(none)' : addresses.join(' ');
}

export function formatMs(ms: number | undefined): string {
  return ms === undefined ? '-' : `${Math.round(ms)} ms`;
}

function commonPrefix(addresses: string[]): string | undefined {
  const prefixes = new Set(addresses.map((a) => a.split('.').slice(0, 3).join('.')));
  return prefixes.size === 1 && addresses.every((a) => a.split('.').length === 4)
    ? [...prefixes][0]
    : undefined;
}

function compareAddresses(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0 && Number.isFinite(d)) return d;
  }
  return a.localeCompare(b);
}
