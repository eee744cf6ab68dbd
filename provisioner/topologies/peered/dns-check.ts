/** DNS by the public answer: the EKS hostname resolves to private addresses inside the accepter CIDR. */
import { change, type Change, type Step } from '../../engine/step.js';
import { addressIn } from './config.js';
import type { PeeredContext } from './context.js';
import { PeeredError } from './errors.js';

/** Result of resolving the EKS hostname; read never throws, so destroy works whatever DNS says. */
export type DnsCheckState =
  | { readonly mode: 'zone' }
  | { readonly mode: 'check'; readonly answers: readonly string[] }
  | { readonly mode: 'check'; readonly error: string };

async function readCheck(ctx: PeeredContext): Promise<DnsCheckState> {
  if (ctx.config.dns.privateHostedZoneId !== undefined) {
    ctx.facts.dnsMode = 'zone';
    return { mode: 'zone' };
  }
  ctx.facts.dnsMode = 'check';
  try {
    const answers = await ctx.lookup(ctx.config.eks.hostname);
    ctx.facts.dnsAnswers = answers;
    return { mode: 'check', answers };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { mode: 'check', error: `${e.code ?? 'ERROR'} (${e.message})` };
  }
}

function planCheck(ctx: PeeredContext, s: DnsCheckState): Change[] {
  if (s.mode === 'zone') return [];
  const { hostname } = ctx.config.eks;
  const cidr = ctx.config.accepter.cidr;
  if ('error' in s) {
    throw new PeeredError(
      'EKL_PEERED_DNS_UNRESOLVED',
      `${hostname} does not resolve: ${s.error}; check eks.hostname (with public access off, public DNS answers it with the private ENI addresses)`,
    );
  }
  const outside = s.answers.filter((a) => !addressIn(a, cidr));
  if (s.answers.length === 0 || outside.length > 0) {
    throw new PeeredError(
      'EKL_PEERED_DNS_OUTSIDE_VPC',
      `${hostname} resolves to ${s.answers.join(', ') || 'nothing'}; ${outside.join(', ')} outside accepter.cidr ${cidr}: turn the cluster's public endpoint access off (then DNS answers the private ENIs), or set dns.privateHostedZoneId`,
    );
  }
  return [
    change(
      'none',
      `DNS ${hostname}`,
      `resolves to ${s.answers.join(', ')}, all inside ${cidr}: nothing to associate (EKS's own zone is managed by EKS)`,
    ),
  ];
}

/** Step 4 (no AWS calls): with no private hosted zone named, check that DNS already answers private addresses. */
export const dnsCheckStep: Step<PeeredContext, DnsCheckState> = {
  id: 'dns-check',
  title: 'check: the EKS hostname resolves to addresses inside the data-plane CIDR',
  account: 'requester',
  permissions: [],
  read: readCheck,
  plan: planCheck,
  apply: async () => undefined,
  destroy: async () => [],
};
