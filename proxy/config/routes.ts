/**
 * The SNI allowlist: each allowed SNI maps to the upstream hostname and port to dial. An
 * SNI not in the table is refused; a ClientHello without SNI uses defaultRoute if set.
 */
import type { ProxyConfig, Route } from './schema.js';
import { ProxyError, type ConnectionError } from '../errors.js';

export type RouteLookup = { readonly route: Route } | { readonly error: ConnectionError };

export class RouteTable {
  private readonly bySni: ReadonlyMap<string, Route>;
  private readonly fallback: Route | undefined;

  private constructor(routes: readonly Route[], defaultRouteName: string | undefined) {
    this.bySni = new Map(routes.map((r) => [r.sni, r]));
    this.fallback = routes.find((r) => r.name === defaultRouteName);
  }

  static fromConfig(config: Pick<ProxyConfig, 'routes' | 'defaultRoute'>): RouteTable {
    return new RouteTable(config.routes, config.defaultRoute);
  }

  /** Every configured route, in config order. */
  get routes(): readonly Route[] {
    return [...this.bySni.values()];
  }

  /** `sni` as the ClientHello parser returns it: lower-case, no trailing dot. */
  lookup(sni: string | undefined): RouteLookup {
    if (sni === undefined) {
      if (this.fallback !== undefined) return { route: this.fallback };
      return {
        error: new ProxyError(
          'EKL_SNI_MISSING',
          'the ClientHello has no SNI and no defaultRoute is set; set tls-server-name in the kubeconfig',
          { source: 'downstream' },
        ),
      };
    }
    const route = this.bySni.get(sni);
    if (route !== undefined) return { route };
    return {
      error: new ProxyError(
        'EKL_SNI_NOT_ALLOWED',
        `SNI "${sni}" is not an allowed route (allowed: ${[...this.bySni.keys()].slice(0, 5).join(', ')}${this.bySni.size > 5 ? ', ...' : ''})`,
        { source: 'downstream' },
      ),
    };
  }
}
