import { renderKubeconfig } from '../../kubeconfig/render.js';
import type { PeeredContext } from './context.js';

export interface PeeredOutputs {
  readonly peeringConnectionId: string | null;
  readonly routeTarget: string | null;
  readonly securityGroupRuleId: string | null;
  readonly dns:
    | { readonly mode: 'check'; readonly answers: readonly string[] }
    | { readonly mode: 'zone'; readonly privateHostedZoneId: string; readonly associated: boolean };
  /** server = the EKS hostname itself (no proxy on this path); null without eks.certificateAuthorityData. */
  readonly kubeconfig: string | null;
  readonly kubeconfigCommand: string;
  readonly iamPolicyCommands: readonly string[];
}

/** Outputs from the facts the steps published during apply. */
export function collectPeeredOutputs(ctx: PeeredContext): PeeredOutputs {
  const { config, facts } = ctx;
  const clusterName = config.eks.clusterName ?? config.deployment;
  const caData = config.eks.certificateAuthorityData;
  const zoneId = config.dns.privateHostedZoneId;
  return {
    peeringConnectionId: facts.peeringConnectionId ?? null,
    routeTarget: facts.routeTarget?.id ?? null,
    securityGroupRuleId: facts.securityGroupRuleId ?? null,
    dns:
      zoneId === undefined
        ? { mode: 'check', answers: facts.dnsAnswers ?? [] }
        : { mode: 'zone', privateHostedZoneId: zoneId, associated: facts.zoneAssociated === true },
    kubeconfig:
      caData === undefined
        ? null
        : renderKubeconfig({
            topology: 'peered',
            server: { host: config.eks.hostname, port: 443 },
            eksHostname: config.eks.hostname,
            caPem: Buffer.from(caData, 'base64').toString('utf8'),
            auth: { kind: 'exec', clusterName, region: config.accepter.region },
            name: `ekslink-${clusterName}`,
          }),
    kubeconfigCommand: `ekslink kubeconfig --topology peered --eks-hostname ${config.eks.hostname} --cluster-name ${clusterName} --region ${config.accepter.region} --ca-data "$(aws eks describe-cluster --name ${clusterName} --region ${config.accepter.region} --query cluster.certificateAuthority.data --output text)"`,
    iamPolicyCommands: ['requester', 'accepter'].map(
      (a) => `ekslink provision iam-policy --topology peered --account ${a}`,
    ),
  };
}
