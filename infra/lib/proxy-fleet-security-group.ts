/**
 * The fleet's security group: it admits TLS and health checks from the NLB's own security
 * group only, and reaches the EKS API, the VPC resolver and the AWS endpoints, each named.
 */
import { type IVpc, Port, SecurityGroup } from 'aws-cdk-lib/aws-ec2';
import type { Construct } from 'constructs';
import { allowBaseEgress, importSecurityGroup } from './hardened-instance.js';
import { PROXY_DATA_PORT } from './proxy-config.js';
import type { ProxyFleetProps } from './proxy-fleet-props.js';
import type { ResolvedFleetProps } from './proxy-fleet-validate.js';

/** The security group the fleet's instances run in. */
export function createFleetSecurityGroup(
  scope: Construct,
  vpc: IVpc,
  props: ProxyFleetProps,
  r: ResolvedFleetProps,
): SecurityGroup {
  const sg = new SecurityGroup(scope, 'SecurityGroup', {
    vpc,
    description:
      'ekslink proxy fleet: TLS and health from the NLB security group only, TLS to the EKS API, DNS to the VPC resolver',
    allowAllOutbound: false,
  });
  // Only the NLB, never a CIDR: a host in the VPC that skipped the NLB could forge a PROXY
  // v2 header with an allowed endpoint ID, and read /metrics.
  const nlb = importSecurityGroup(scope, 'LoadBalancerSecurityGroup', props.loadBalancerSecurityGroupId);
  sg.addIngressRule(nlb, Port.tcp(PROXY_DATA_PORT), 'TLS passthrough from the NLB security group');
  sg.addIngressRule(nlb, Port.tcp(r.healthPort), 'Health checks from the NLB security group');

  const cluster = importSecurityGroup(scope, 'ClusterSecurityGroup', props.clusterSecurityGroupId);
  sg.addEgressRule(cluster, Port.tcp(443), 'TLS to the EKS API server');
  cluster.addIngressRule(sg, Port.tcp(443), 'ekslink proxy fleet to the EKS API server');

  allowBaseEgress(scope, sg, {
    resolverIp: r.resolverIp,
    awsEndpointsSecurityGroupId: props.awsEndpointsSecurityGroupId,
    s3PrefixListId: props.s3PrefixListId,
    descriptions: {
      awsEndpointsEgress: 'AWS APIs through the VPC interface endpoints (SSM, logs, signals)',
      awsEndpointsIngress: 'ekslink proxy fleet to the AWS interface endpoints',
      s3Egress: 'S3 gateway endpoint: proxy bundle and AL2023 packages',
    },
  });
  return sg;
}
