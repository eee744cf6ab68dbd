import { defineTopology } from '../topology.js';
import { peeredConfigSchema, type PeeredConfig } from './config.js';
import { createPeeredContext, type PeeredContext } from './context.js';
import { dnsCheckStep } from './dns-check.js';
import { dnsAssociateStep, dnsAuthorizeStep, dnsCleanupStep } from './dns.js';
import { collectPeeredOutputs } from './outputs.js';
import { peeringAcceptStep } from './peering-accept.js';
import { peeringRequestStep } from './peering-request.js';
import { PEERED_PREFLIGHT_PERMISSIONS, preflightPeered } from './preflight.js';
import { routesStep } from './routes.js';
import { securityGroupStep } from './security-group.js';

/**
 * Steps in apply order; destroy runs them in reverse. Steps that do not apply to the
 * configured mode (Transit Gateway instead of peering, DNS check instead of a zone) plan nothing.
 */
export const PEERED_STEPS = [
  peeringRequestStep,
  peeringAcceptStep,
  routesStep('requester'),
  routesStep('accepter'),
  securityGroupStep,
  dnsCheckStep,
  dnsAuthorizeStep,
  dnsAssociateStep,
  dnsCleanupStep,
] as const;

/** Topology 2: metadata plane VPC (requester account) peered with the EKS VPC (accepter account). */
export const peered = defineTopology<PeeredConfig, PeeredContext>({
  name: 'peered',
  summary:
    'VPC peering (or a checked TGW path), routes both sides, TCP 443 on the EKS cluster SG, DNS check or cross-account zone association',
  accounts: ['requester', 'accepter'],
  configSchema: peeredConfigSchema,
  steps: PEERED_STEPS,
  createContext: createPeeredContext,
  async connect(ctx) {
    await ctx.requester.verifyIdentity();
    await ctx.accepter.verifyIdentity();
  },
  preflight: preflightPeered,
  preflightPermissions: PEERED_PREFLIGHT_PERMISSIONS,
  deploymentName: (config) => config.deployment,
  outputs: (ctx) => ({ ...collectPeeredOutputs(ctx) }),
  close(ctx) {
    ctx.requester.destroy();
    ctx.accepter.destroy();
  },
});
