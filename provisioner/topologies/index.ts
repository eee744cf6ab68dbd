import { ProvisionError } from '../errors.js';
import { gcpToAws } from './gcp-to-aws/index.js';
import { peered } from './peered/index.js';
import type { Topology } from './topology.js';

/**
 * Every topology `ekslink provision --topology NAME` knows. Adding one is one line here
 * plus its folder (config schema, steps, outputs): see provisioner/engine/step.ts.
 */
export const TOPOLOGIES: Readonly<Record<string, Topology>> = {
  'gcp-to-aws': gcpToAws,
  peered,
};

export function getTopology(name: string): Topology {
  const topology = TOPOLOGIES[name];
  if (topology === undefined) {
    throw new ProvisionError(
      'EKL_PROVISION_UNKNOWN_TOPOLOGY',
      `unknown topology "${name}"; use one of: ${Object.keys(TOPOLOGIES).join(', ')} (e.g. --topology gcp-to-aws)`,
      { source: 'usage' },
    );
  }
  return topology;
}
