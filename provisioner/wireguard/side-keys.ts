/** The key material each rendered end needs: its own private key (inline or on-host file) and the peer's public key. */

/** How one end gets its private key. */
export type SideKey =
  /** Generated (or kept from a previous render): written into the mode-0600 config. */
  | { readonly kind: 'inline'; readonly privateKey: string; readonly publicKey: string }
  /** Kept on that host; the config loads it in PostUp with `wg set %i private-key FILE`. */
  | { readonly kind: 'file'; readonly privateKeyFile: string; readonly publicKey: string };

export interface RenderKeys {
  readonly gcp: SideKey;
  readonly aws: SideKey;
}

/** The [Interface] line(s) that give an end its private key. */
export function privateKeyLines(key: SideKey): { privateKey?: string; postUp: string[] } {
  return key.kind === 'inline'
    ? { privateKey: key.privateKey, postUp: [] }
    : { postUp: [`wg set %i private-key ${key.privateKeyFile}`] };
}
