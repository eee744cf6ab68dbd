/**
 * The stack deployed in the proxy account: one WireGuardPeer and its outputs.
 */
import { CfnOutput, Stack, type StackProps, Tags } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { WireGuardPeer, type WireGuardPeerProps } from './wireguard-peer.js';

export interface WireGuardPeerStackProps extends StackProps, WireGuardPeerProps {
  /** The ekslink deployment this peer serves (the `ekslink:deployment` tag). */
  readonly deploymentName: string;
}

export class WireGuardPeerStack extends Stack {
  public readonly peer: WireGuardPeer;

  constructor(scope: Construct, id: string, props: WireGuardPeerStackProps) {
    super(scope, id, props);
    Tags.of(this).add('ekslink:deployment', props.deploymentName);
    Tags.of(this).add('ekslink:component', 'wireguard-peer');
    this.peer = new WireGuardPeer(this, 'Peer', props);
    new CfnOutput(this, 'ElasticIpAllocationId', { value: this.peer.elasticIpAllocationId });
    if (this.peer.publicIp !== undefined) {
      new CfnOutput(this, 'PublicIp', {
        value: this.peer.publicIp,
        description: 'aws.endpointHost for `ekslink wireguard render` (the GCP side dials it)',
      });
    }
    new CfnOutput(this, 'PeerSecurityGroupId', { value: this.peer.securityGroup.securityGroupId });
    new CfnOutput(this, 'ListenPort', { value: String(this.peer.listenPort) });
  }
}
