/**
 * The stack a customer deploys in the data-plane account: one ProxyFleet and its outputs.
 */
import { CfnOutput, Stack, type StackProps, Tags } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { ProxyFleet, type ProxyFleetProps } from './proxy-fleet.js';

export interface ProxyFleetStackProps extends StackProps, ProxyFleetProps {
  /** The ekslink deployment this fleet serves (the `ekslink:deployment` tag the provisioner uses too). */
  readonly deploymentName: string;
}

export class ProxyFleetStack extends Stack {
  public readonly fleet: ProxyFleet;

  constructor(scope: Construct, id: string, props: ProxyFleetStackProps) {
    super(scope, id, props);
    Tags.of(this).add('ekslink:deployment', props.deploymentName);
    Tags.of(this).add('ekslink:component', 'proxy-fleet');
    this.fleet = new ProxyFleet(this, 'Fleet', props);
    new CfnOutput(this, 'AutoScalingGroupName', {
      value: this.fleet.autoScalingGroup.autoScalingGroupName,
      description: 'Watch instance refreshes and target health here',
    });
    new CfnOutput(this, 'FleetSecurityGroupId', {
      value: this.fleet.securityGroup.securityGroupId,
      description: 'The proxies; the cluster security group allows TCP 443 from it',
    });
  }
}
