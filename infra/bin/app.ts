/**
 * The ekslink infra app: `npx cdk synth|deploy -c ekslink:config=FILE` (see docs/deploy.md).
 * Synthesizes offline: every ID comes from the config file, nothing is looked up.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { CONFIG_CONTEXT_KEY, loadAppConfig } from '../lib/app-config.js';
import { ProxyFleetStack } from '../lib/proxy-fleet-stack.js';
import { ProxyImagePipelineStack } from '../lib/image-pipeline-stack.js';
import { WireGuardPeerStack } from '../lib/wireguard-peer-stack.js';

// autoSynth off: a failed synth must not be retried (and thrown again) when the process exits.
const app = new App({ autoSynth: false });
// Every synth (and so every deploy) runs the AwsSolutions pack: an unacknowledged finding fails it.
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
try {
  const config = loadAppConfig(app.node.tryGetContext(CONFIG_CONTEXT_KEY));
  const name = config.deploymentName;
  if (config.imagePipeline) {
    new ProxyImagePipelineStack(app, `ekslink-${name}-image-pipeline`, {
      ...config.imagePipeline.props,
      deploymentName: name,
      env: config.imagePipeline.env,
      description: `ekslink proxy AMI image pipeline for deployment ${name} (data-plane account)`,
    });
  }
  if (config.proxyFleet) {
    new ProxyFleetStack(app, `ekslink-${name}-proxy-fleet`, {
      ...config.proxyFleet.props,
      deploymentName: name,
      env: config.proxyFleet.env,
      description: `ekslink proxy fleet for deployment ${name} (data-plane account)`,
    });
  }
  if (config.wireGuardPeer) {
    new WireGuardPeerStack(app, `ekslink-${name}-wireguard-peer`, {
      ...config.wireGuardPeer.props,
      deploymentName: name,
      env: config.wireGuardPeer.env,
      description: `ekslink WireGuard peer for deployment ${name} (proxy account)`,
    });
  }
  app.synth();
} catch (err) {
  const code = (err as { code?: unknown }).code;
  console.error(
    `error ${typeof code === 'string' ? code : 'EKL_INFRA_SYNTH_FAILED'}: ${err instanceof Error ? err.message : String(err)}`,
  );
  process.exitCode = 1;
}
