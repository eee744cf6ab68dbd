import {
  DescribeSecurityGroupsCommand,
  DescribeVpcEndpointServiceConfigurationsCommand,
  DescribeVpcEndpointsCommand,
} from '@aws-sdk/client-ec2';
import {
  DescribeLoadBalancersCommand,
  DescribeTagsCommand,
  DescribeTargetGroupsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { isDeploymentResource } from '../../provisioner/aws/tags.js';
import type { World } from './world.js';

export interface TaggedCounts {
  loadBalancers: number;
  targetGroups: number;
  endpointServices: number;
  endpoints: number;
  securityGroups: number;
}

/** How many live resources carry a deployment's tags, read straight from moto. */
export async function taggedCounts(world: World, deployment: string): Promise<TaggedCounts> {
  const { provider, consumer } = world.aws;
  const lbs = (await provider.elbv2.send(new DescribeLoadBalancersCommand({}))).LoadBalancers ?? [];
  const tgs = (await provider.elbv2.send(new DescribeTargetGroupsCommand({}))).TargetGroups ?? [];
  const arns = [...lbs.map((l) => l.LoadBalancerArn!), ...tgs.map((t) => t.TargetGroupArn!)];
  const ours = new Set<string>();
  for (let i = 0; i < arns.length; i += 20) {
    const out = await provider.elbv2.send(new DescribeTagsCommand({ ResourceArns: arns.slice(i, i + 20) }));
    for (const d of out.TagDescriptions ?? [])
      if (isDeploymentResource(d.Tags, deployment)) ours.add(d.ResourceArn!);
  }
  const services =
    (await provider.ec2.send(new DescribeVpcEndpointServiceConfigurationsCommand({})))
      .ServiceConfigurations ?? [];
  const endpoints = (await consumer.ec2.send(new DescribeVpcEndpointsCommand({}))).VpcEndpoints ?? [];
  const sgs = (await consumer.ec2.send(new DescribeSecurityGroupsCommand({}))).SecurityGroups ?? [];
  return {
    loadBalancers: lbs.filter((l) => ours.has(l.LoadBalancerArn!)).length,
    targetGroups: tgs.filter((t) => ours.has(t.TargetGroupArn!)).length,
    endpointServices: services.filter((s) => isDeploymentResource(s.Tags, deployment)).length,
    endpoints: endpoints.filter(
      (e) => isDeploymentResource(e.Tags, deployment) && String(e.State).toLowerCase() !== 'deleted',
    ).length,
    securityGroups: sgs.filter((g) => isDeploymentResource(g.Tags, deployment)).length,
  };
}

export const ONE_OF_EACH: TaggedCounts = {
  loadBalancers: 1,
  targetGroups: 1,
  endpointServices: 1,
  endpoints: 1,
  securityGroups: 1,
};
export const NONE: TaggedCounts = {
  loadBalancers: 0,
  targetGroups: 0,
  endpointServices: 0,
  endpoints: 0,
  securityGroups: 0,
};
