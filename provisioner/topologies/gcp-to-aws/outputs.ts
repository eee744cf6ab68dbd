import { stringify } from 'yaml';
import { ipv4At, parseCidr } from '../../../common/cidr.js';
import type { TargetGroupSettings } from '../../../common/provision-outputs.js';
import { desiredHealthCheck, desiredTgAttributes } from './nlb-settings.js';
import type { GcpToAwsContext } from './context.js';

export interface GcpToAwsOutputs {
  readonly endpointServiceName: string | null;
  readonly endpointServiceId: string | null;
  readonly vpcEndpointId: string | null;
  readonly vpcEndpointDnsNames: readonly string[];
  /** Private IPv4 addresses of the endpoint's network interfaces (one per subnet): the WireGuard peer's only destinations. */
  readonly vpcEndpointAddresses: readonly string[];
  /** The consumer endpoint's security group: the WireGuard peer stack admits itself there. */
  readonly vpcEndpointSecurityGroupId: string | null;
  /** The EKS private API hostname: the kubeconfig's tls-server-name. */
  readonly eksHostname: string;
  /** Every hostname the fleet's proxy routes. */
  readonly eksHostnames: readonly string[];
  /** The fleet stack attaches its Auto Scaling group to this target group. */
  readonly targetGroupArn: string | null;
  /** The target group's settings as apply set them: the fleet pairs its proxy config with these. */
  readonly targetGroup: TargetGroupSettings | null;
  readonly loadBalancerArn: string | null;
  /** The NLB's own security group: the only source the fleet admits on its data and health ports. */
  readonly loadBalancerSecurityGroupId: string | null;
  readonly providerVpcId: string;
  readonly providerVpcCidr: string | null;
  /** The provider VPC's resolver: base of its CIDR + 2. */
  readonly dnsResolverIp: string | null;
  /** The provider VPC's CIDRs, where the EKS API's ENIs live: the proxy's allowed upstreams. */
  readonly upstreamCidrs: readonly string[];
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

/** The target group's settings once apply has made them so (the desired values). */
function targetGroupSettings(ctx: GcpToAwsContext): TargetGroupSettings {
  const attrs = desiredTgAttributes(ctx);
  const hc = desiredHealthCheck(ctx);
  return {
    proxyProtocolV2: attrs['proxy_protocol_v2.enabled'] === 'true',
    deregistrationDelaySec: Number(attrs['deregistration_delay.timeout_seconds']),
    connectionTermination: attrs['deregistration_delay.connection_termination.enabled'] === 'true',
    healthCheckPort: Number(hc.HealthCheckPort),
    healthCheckIntervalSec: hc.HealthCheckIntervalSeconds,
    unhealthyThresholdCount: hc.UnhealthyThresholdCount,
  };
}

/** Outputs from the facts the steps published during apply. */
export function collectOutputs(ctx: GcpToAwsContext): GcpToAwsOutputs {
  const f = ctx.facts;
  const dns = f.endpointDnsNames ?? [];
  const vpcCidr = f.providerVpcCidrs?.[0];
  const block = vpcCidr === undefined ? undefined : parseCidr(vpcCidr);
  return {
    endpointServiceName: f.serviceName ?? null,
    endpointServiceId: f.serviceId ?? null,
    vpcEndpointId: f.endpointId ?? null,
    vpcEndpointDnsNames: dns,
    vpcEndpointAddresses: f.endpointAddresses ?? [],
    vpcEndpointSecurityGroupId: f.securityGroupId ?? null,
    eksHostname: ctx.config.eks.hostname,
    eksHostnames: [ctx.config.eks.hostname],
    targetGroupArn: f.targetGroupArn ?? null,
    targetGroup: f.targetGroupArn === undefined ? null : targetGroupSettings(ctx),
    loadBalancerArn: f.loadBalancerArn ?? null,
    loadBalancerSecurityGroupId: f.nlbSecurityGroupId ?? null,
    providerVpcId: ctx.config.provider.vpcId,
    providerVpcCidr: vpcCidr ?? null,
    dnsResolverIp: block?.family === 4 ? ipv4At(block, 2) : null,
    upstreamCidrs: f.providerVpcCidrs ?? [],
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
