/**
 * The pinned image in the infra config. The provisioner's outputs file knows nothing about
 * AMIs (the image pipeline stack builds them), so the fleet's image is the one value of the
 * one-deployment chain the operator writes after a build: `proxyFleet.amiId` (the id the
 * pipeline wrote to its SSM parameter) or `proxyFleet.amiParameterName` (that parameter,
 * looked up once at synth and recorded in cdk.context.json). Neither is a config error here,
 * before any construct runs: there is no "latest" default to fall back on.
 */
import { proxyAmiParameterName } from './image-pipeline.js';
import { InfraError } from './errors.js';

/** The keys of the proxyFleet section that pin the image. */
export interface FleetImageKeys {
  readonly amiId?: string | undefined;
  readonly amiParameterName?: string | undefined;
  readonly account?: string | undefined;
  readonly region?: string | undefined;
}

/** Refuse a fleet section that pins no image, or pins it twice. */
export function checkFleetImageKeys(section: FleetImageKeys, deploymentName: string): void {
  const parameter = proxyAmiParameterName(deploymentName, 'arm64');
  if (section.amiId === undefined && section.amiParameterName === undefined) {
    throw new InfraError(
      'EKL_INFRA_APP_CONFIG_INVALID',
      `proxyFleet.amiId is not set (got nothing): the fleet boots a pinned image, never "latest". ` +
        `Build one with the imagePipeline section (stack ekslink-${deploymentName}-image-pipeline, docs/image.md), ` +
        `then set proxyFleet.amiId to the id it wrote (aws ssm get-parameter --name ${parameter} --query Parameter.Value --output text), ` +
        `or set proxyFleet.amiParameterName to "${parameter}" to look it up at synth (recorded in cdk.context.json); ` +
        `e.g. "amiId": "ami-0123456789abcdef0"`,
    );
  }
  if (section.amiId !== undefined && section.amiParameterName !== undefined) {
    throw new InfraError(
      'EKL_INFRA_APP_CONFIG_INVALID',
      `proxyFleet.amiId is "${section.amiId}" and proxyFleet.amiParameterName is "${section.amiParameterName}": ` +
        'pin the image once; keep amiId (a reviewed literal id) or amiParameterName (looked up at synth), not both',
    );
  }
  if (
    section.amiParameterName !== undefined &&
    (section.account === undefined || section.region === undefined)
  ) {
    const absent = [
      section.account === undefined ? 'account' : [],
      section.region === undefined ? 'region' : [],
    ].flat();
    throw new InfraError(
      'EKL_INFRA_APP_CONFIG_INVALID',
      `proxyFleet.amiParameterName "${section.amiParameterName}" is looked up in one account and region, but proxyFleet has no ${absent.join(' and ')}: ` +
        'give proxyFleet.account and proxyFleet.region (the data-plane account), e.g. "account": "123456789012", "region": "us-east-1", or pin amiId instead',
    );
  }
}
