/**
 * A kubeconfig for one cluster, one user (static bearer token), one context, for tests that
 * need what `ekslink kubeconfig` (provisioner/kubeconfig/render.ts) refuses to write: no
 * tls-server-name, or a server URL taken as is. `tlsServerName` lets the client dial an
 * address (the proxy, or an ENI) while verifying the certificate for the EKS hostname.
 */
import { stringify } from 'yaml';

export interface KubeconfigOptions {
  /** e.g. https://127.0.0.1:8443 */
  server: string;
  /** The name the server certificate is checked against, e.g. the EKS private hostname. */
  tlsServerName?: string;
  caCertPem: string;
  token: string;
  /** @default 'ekslink-demo' */
  name?: string;
}

export function renderKubeconfig(o: KubeconfigOptions): string {
  const name = o.name ?? 'ekslink-demo';
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name,
        cluster: {
          server: o.server,
          'certificate-authority-data': Buffer.from(o.caCertPem).toString('base64'),
          ...(o.tlsServerName === undefined ? {} : { 'tls-server-name': o.tlsServerName }),
        },
      },
    ],
    users: [{ name, user: { token: o.token } }],
    contexts: [{ name, context: { cluster: name, user: name, namespace: 'default' } }],
    'current-context': name,
  });
}
