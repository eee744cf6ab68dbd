/**
 * Response bodies shaped like a real kube-apiserver's, just enough for `kubectl get --raw`,
 * discovery, and `kubectl get configmaps --watch`. Pure functions: the stand-in does the I/O.
 */

export const DEFAULT_GIT_VERSION = 'v1.31.2-eks-7f9249a';

export function versionBody(gitVersion: string): object {
  const m = /^v(\d+)\.(\d+)/.exec(gitVersion);
  return {
    major: m?.[1] ?? '1',
    minor: m?.[2] ?? '31',
    gitVersion,
    gitCommit: '3ad5a4c4a6b7d5f9e0c1b2a3d4e5f60718293a4b',
    gitTreeState: 'clean',
    buildDate: '2024-10-24T21:47:50Z',
    goVersion: 'go1.22.8',
    compiler: 'gc',
    platform: 'linux/amd64',
  };
}

/** The stand-in's own path: which ENI answered, for clients that cannot see headers. */
export function eniBody(eni: string, gitVersion: string): object {
  return { eni, gitVersion };
}

export function apiVersionsBody(eni: string, port: number): object {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: `${eni}:${port}` }],
  };
}

export function apiGroupListBody(): object {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: [] };
}

export function coreV1ResourcesBody(): object {
  return {
    kind: 'APIResourceList',
    groupVersion: 'v1',
    resources: [
      {
        name: 'configmaps',
        singularName: 'configmap',
        namespaced: true,
        kind: 'ConfigMap',
        verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
        shortNames: ['cm'],
        storageVersionHash: 'qFsyl6wFWjQ=',
      },
      {
        name: 'namespaces',
        singularName: 'namespace',
        namespaced: false,
        kind: 'Namespace',
        verbs: ['get', 'list', 'watch'],
        shortNames: ['ns'],
      },
    ],
  };
}

export interface ConfigMapFields {
  readonly name: string;
  readonly resourceVersion: number;
  readonly eni: string;
  readonly createdAt: Date;
}

export function configMap(f: ConfigMapFields): object {
  return {
    kind: 'ConfigMap',
    apiVersion: 'v1',
    metadata: {
      name: f.name,
      namespace: 'default',
      uid: uidFor(f.name),
      resourceVersion: String(f.resourceVersion),
      creationTimestamp: f.createdAt.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    },
    data: { servedBy: f.eni },
  };
}

export function configMapList(items: readonly object[], resourceVersion: number): object {
  return {
    kind: 'ConfigMapList',
    apiVersion: 'v1',
    metadata: { resourceVersion: String(resourceVersion) },
    items,
  };
}

/** One line of a watch stream, as the apiserver writes it. */
export function watchEvent(type: 'ADDED' | 'MODIFIED' | 'DELETED', object: object): string {
  return `${JSON.stringify({ type, object })}\n`;
}

export function statusBody(code: number, reason: string, message: string): object {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    details: {},
    code,
  };
}

/** A stable, UUID-shaped id for a name (same name, same uid). */
function uidFor(name: string): string {
  let h = 0x811c9dc5;
  for (const c of name) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  const hex = (h.toString(16).padStart(8, '0') + 'a1b2c3d4e5f60718293a4b5c').slice(0, 32);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
