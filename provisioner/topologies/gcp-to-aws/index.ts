import { defineTopology } from '../topology.js';
import { acceptConnectionStep } from './accept-connection.js';
import { gcpToAwsConfigSchema, type GcpToAwsConfig } from './config.js';
import { createGcpToAwsContext, type GcpToAwsContext } from './context.js';
import { endpointServiceStep } from './endpoint-service.js';
import { nlbStep } from './nlb.js';
import { GCP_TO_AWS_PREFLIGHT_PERMISSIONS, preflightGcpToAws } from './preflight.js';
import { collectOutputs } from './outputs.js';
import { vpcEndpointStep } from './vpc-endpoint.js';

/** Steps in apply order; destroy runs them in reverse. */
export const GCP_TO_AWS_STEPS = [
  nlbStep,
  endpointServiceStep,
  vpcEndpointStep,
  acceptConnectionStep,
] as const;

/** Topology 1: GCP metadata plane -> WireGuard -> consumer VPC endpoint -> PrivateLink -> provider NLB -> proxies. */
export const gcpToAws = defineTopology<GcpToAwsConfig, GcpToAwsContext>({
  name: 'gcp-to-aws',
  summary:
    'NLB + endpoint service in the provider account, interface endpoint in the consumer account, acceptance',
  accounts: ['provider', 'consumer'],
  configSchema: gcpToAwsConfigSchema,
  steps: GCP_TO_AWS_STEPS,
  createContext: createGcpToAwsContext,
  async connect(ctx) {
    await ctx.provider.verifyIdentity();
    await ctx.consumer.verifyIdentity();
  },
  preflight: preflightGcpToAws,
  preflightPermissions: GCP_TO_AWS_PREFLIGHT_PERMISSIONS,
  deploymentName: (config) => config.deployment,
  outputs: (ctx) => ({ ...collectOutputs(ctx) }),
  close(ctx) {
    ctx.provider.destroy();
    ctx.consumer.destroy();
  },
});
