/**
 * The ekslink infra app: `npx cdk synth|deploy -c ekslink:config=FILE` (see docs/deploy.md).
 * Synthesizes offline: every ID comes from the config file and the provisioner's outputs
 * file it names; the one lookup is the fleet's amiParameterName, if chosen instead of amiId.
 * Exit code 2 for a config or prop the operator must fix, 1 for any other failure.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { isEkslinkError } from '../../common/errors.js';
import { EXIT, exitCodeOf } from '../../common/exit-codes.js';
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
  // 2 for what the operator gave (the config, its files, a prop), 1 for a synth that failed.
  process.exitCode = isEkslinkError(err) ? exitCodeOf(err) : EXIT.failed;
}
