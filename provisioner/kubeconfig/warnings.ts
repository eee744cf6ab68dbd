/**
 * What `ekslink kubeconfig` accepts but says a word about: settings that work on a bench
 * and fail in production. Printed on stderr; the kubeconfig is still written.
 */
import { isIP } from 'node:net';
import type { KubeconfigInput } from './input.js';

export function kubeconfigWarnings(input: KubeconfigInput): string[] {
  const warnings: string[] = [];
  const host = input.server?.host;
  // Loopback is a port forward (SSM, kubectl port-forward) or a test: nothing to pin there.
  if (input.topology === 'gcp-to-aws' && host !== undefined && isIP(host) !== 0 && !isLoopback(host)) {
    warnings.push(
      `--server ${host} is an IP address: it pins one VPC endpoint ENI (one zone), which AWS may replace; ` +
        'use the VPC endpoint DNS name (docs/kubeconfig.md), e.g. --server vpce-0123456789abcdef0-abcd1234.vpce-svc-0123456789abcdef0.us-east-1.vpce.amazonaws.com',
    );
  }
  return warnings;
}

function isLoopback(host: string): boolean {
  return host === '::1' || /^127\./.test(host);
}
