import { stringify } from 'yaml';
import type { GcpToAwsContext } from './context.js';

export interface GcpToAwsOutputs {
  readonly endpointServiceName: string | null;
  readonly endpointServiceId: string | null;
  readonly vpcEndpointId: string | null;
  readonly vpcEndpointDnsNames: readonly string[];
  /** Private IPv4 addresses of the endpoint's network interfaces (one per subnet): the WireGuard peer's only destinations. */
  readonly vpcEndpointAddresses: readonly string[];
  /** The EKS private API hostname: the kubeconfig's tls-server-name. */
  readonly eksHostname: string;
  /** The fleet stack attaches its Auto Scaling group to this target group. */
  readonly targetGroupArn: string | null;
  readonly loadBalancerArn: string | null;
  readonly securityGroupId: string | null;
  /** A kubeconfig `clusters` entry: server = the endpoint DNS name, tls-server-name = the EKS hostname. */
  readonly kubeconfig: string | null;
}

/** The kubeconfig cluster entry for a kube client reaching the cluster through the endpoint. */
export function kubeconfigSnippet(options: {
  clusterName: string;
  endpointDnsName: string;
  eksHostname: string;
  certificateAuthorityData?: string | undefined;
}): string {
  return stringify({
    clusters: [
      {
        name: options.clusterName,
        cluster: {
          server: `https://${options.endpointDnsName}`,
          'tls-server-name': options.eksHostname,
          ...(options.certificateAuthorityData
            ? { 'certificate-authority-data': options.certificateAuthorityData }
            : {}),
        },
      },
    ],
  });
}

/** Outputs from the facts the steps published during apply. */
export function collectOutputs(ctx: GcpToAwsContext): GcpToAwsOutputs {
  const f = ctx.facts;
  const dns = f.endpointDnsNames ?? [];
  return {
    endpointServiceName: f.serviceName ?? null,
    endpointServiceId: f.serviceId ?? null,
    vpcEndpointId: f.endpointId ?? null,
    vpcEndpointDnsNames: dns,
    vpcEndpointAddresses: f.endpointAddresses ?? [],
    eksHostname: ctx.config.eks.hostname,
    targetGroupArn: f.targetGroupArn ?? null,
    loadBalancerArn: f.loadBalancerArn ?? null,
    securityGroupId: f.securityGroupId ?? null,
    // The first DNS entry is the regional name, valid in every subnet's zone.
    kubeconfig:
      dns[0] === undefined
        ? null
        : kubeconfigSnippet({
            clusterName: ctx.config.eks.clusterName ?? ctx.config.deployment,
            endpointDnsName: dns[0],
            eksHostname: ctx.config.eks.hostname,
            certificateAuthorityData: ctx.config.eks.certificateAuthorityData,
          }),
  };
}
