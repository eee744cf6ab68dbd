/**
 * The stack that builds the proxy AMI, in the data-plane account (where the fleet runs):
 * one ProxyImagePipeline and the names of the SSM parameters it writes.
 */
import { CfnOutput, Stack, type StackProps, Tags } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { ProxyImagePipeline, type ProxyImagePipelineProps } from './image-pipeline.js';

export type ProxyImagePipelineStackProps = StackProps & ProxyImagePipelineProps;

export class ProxyImagePipelineStack extends Stack {
  public readonly pipeline: ProxyImagePipeline;

  constructor(scope: Construct, id: string, props: ProxyImagePipelineStackProps) {
    super(scope, id, props);
    Tags.of(this).add('ekslink:deployment', props.deploymentName);
    Tags.of(this).add('ekslink:component', 'image-pipeline');
    this.pipeline = new ProxyImagePipeline(this, 'ImagePipeline', props);
    for (const [arch, name] of Object.entries(this.pipeline.amiParameterNames)) {
      new CfnOutput(this, `AmiParameter${arch === 'arm64' ? 'Arm64' : 'X8664'}`, {
        value: name,
        description: `After a successful build: aws ssm get-parameter --name ${name}; pin that id as proxyFleet.amiId`,
      });
    }
  }
}
