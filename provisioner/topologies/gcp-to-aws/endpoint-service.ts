/** Step endpoint-service (provider): the PrivateLink endpoint service for the NLB, acceptance required, only the named principals. */
import {
  CreateVpcEndpointServiceConfigurationCommand,
  DeleteVpcEndpointServiceConfigurationsCommand,
  DescribeVpcEndpointServiceConfigurationsCommand,
  DescribeVpcEndpointServicePermissionsCommand,
  ModifyVpcEndpointServiceConfigurationCommand,
  ModifyVpcEndpointServicePermissionsCommand,
  type ServiceConfiguration,
} from '@aws-sdk/client-ec2';
import { tagSpecifications } from '../../aws/tags.js';
import { change, type Change, type Step } from '../../engine/step.js';
import { awsFailure, ignoreGone, runOps, type Op } from '../shared/ops.js';
import { listTagged } from '../shared/tagged-read.js';
import { AwsCallError } from '../../errors.js';
import { resourceNames } from './config.js';
import type { GcpToAwsContext } from './context.js';
import {
  connectionState,
  destroyBlocked,
  listConnections,
  rejectLiveConnections,
} from './service-connections.js';
import { clientToken } from '../../engine/client-token.js';
import { chooseKeeper, duplicateReason, reportDuplicates, type Choice } from '../shared/duplicates.js';
import { waitUntilListed } from '../shared/visibility.js';
import { ENDPOINT_SERVICE_PERMISSIONS } from './endpoint-service-permissions.js';

export interface EndpointServiceState {
  /** Every endpoint service carrying this deployment's tags (more than one only after a fault). */
  readonly services: readonly ServiceConfiguration[];
  /** Tagged services in state `Failed`: they never recover, so apply replaces and destroy deletes them. */
  readonly failedServices: readonly ServiceConfiguration[];
  /** Allowed principals of the first one. */
  readonly principals: readonly string[];
  /** Which of several tagged services is kept (first in `services`) and why. */
  readonly choice: Choice<ServiceConfiguration>;
}

const GONE = ['InvalidVpcEndpointService.NotFound', 'InvalidVpcEndpointServiceId.NotFound'];
/** ServiceConfiguration carries no failure reason, unlike an NLB's State.Reason. */
const FAILED_REASON =
  'it failed: service state Failed (AWS gives no reason; check the NLB it was created for)';

/** This deployment's endpoint services (not deleting), by tags: the read the next run makes. */
async function listServices(ctx: GcpToAwsContext): Promise<ServiceConfiguration[]> {
  const conn = ctx.provider;
  const listed = await listTagged(conn, ctx.config.deployment, {
    operation: 'DescribeVpcEndpointServiceConfigurations',
    what: 'endpoint services',
    send: (Filters, NextToken) =>
      conn.ec2.send(new DescribeVpcEndpointServiceConfigurationsCommand({ Filters, NextToken })),
    page: (out) => ({ items: out.ServiceConfigurations, next: out.NextToken }),
    tags: (s) => s.Tags,
  });
  return listed.filter((s) => !['Deleting', 'Deleted'].includes(s.ServiceState ?? ''));
}

const serviceIdOf = (s: ServiceConfiguration) => s.ServiceId!;

/**
 * Among duplicate services the one in use has the live connections (an available one beats a
 * pending one); AWS gives services no creation time. Connections are read only when there
 * is more than one service, so the common case costs nothing.
 */
async function chooseService(ctx: GcpToAwsContext, services: readonly ServiceConfiguration[]) {
  const use = new Map<string, { score: number; as: string }>();
  if (services.length > 1) {
    for (const svc of services) {
      const states = (await listConnections(ctx, svc.ServiceId!)).map(connectionState);
      use.set(
        svc.ServiceId!,
        states.includes('available')
          ? { score: 2, as: 'an available connection' }
          : states.some((x) => x.startsWith('pending'))
            ? { score: 1, as: 'a pending connection' }
            : { score: 0, as: 'no connection' },
      );
    }
  }
  return chooseKeeper(services, {
    id: serviceIdOf,
    inUse: (x) => use.get(x.ServiceId!) ?? { score: 0, as: '' },
  });
}

async function readEndpointService(ctx: GcpToAwsContext): Promise<EndpointServiceState> {
  const conn = ctx.provider;
  const tagged = await listServices(ctx);
  const choice = await chooseService(
    ctx,
    tagged.filter((s) => s.ServiceState !== 'Failed'),
  );
  reportDuplicates(
    ctx,
    { step: 'endpoint-service', account: 'provider', kind: 'endpoint service' },
    choice,
    serviceIdOf,
  );
  const services = choice.kept ? [choice.kept, ...choice.extras] : [];
  const failedServices = tagged.filter((s) => s.ServiceState === 'Failed');
  const svc = services[0];
  let principals: string[] = [];
  if (svc) {
    const out = await conn.call(
      'DescribeVpcEndpointServicePermissions',
      `endpoint service ${svc.ServiceId}`,
      () => conn.ec2.send(new DescribeVpcEndpointServicePermissionsCommand({ ServiceId: svc.ServiceId })),
    );
    principals = (out.AllowedPrincipals ?? []).map((p) => p.Principal!).filter(Boolean);
    ctx.facts.serviceId = svc.ServiceId;
    ctx.facts.serviceName = svc.ServiceName;
  }
  return { services, failedServices, principals, choice };
}

function serviceOps(ctx: GcpToAwsContext, s: EndpointServiceState): Op[] {
  const conn = ctx.provider;
  const deployment = ctx.config.deployment;
  const want = [...ctx.allowedPrincipals].sort();
  const svc = s.services[0];
  const ops: Op[] = [];
  const failed = s.failedServices;
  if (!svc) {
    const label = `endpoint service ${resourceNames(deployment).endpointService}`;
    const replaced = failed[0];
    ops.push({
      change: replaced
        ? change('replace', label, `${replaced.ServiceId}: ${FAILED_REASON}`)
        : change(
            'create',
            label,
            `acceptance required, allowed principals ${want.join(', ')}${ctx.facts.loadBalancerArn ? '' : ' (for the NLB created in step nlb)'}`,
          ),
      run: async () => {
        for (const f of failed) await deleteService(ctx, f.ServiceId!);
        const request = { AcceptanceRequired: true, NetworkLoadBalancerArns: [ctx.facts.loadBalancerArn!] };
        // Same NLB, same token: a rerun gets the service a lost answer created.
        const token = clientToken(deployment, 'endpoint-service', {
          ...request,
          replacing: failed.map((f) => f.ServiceId),
        });
        const out = await conn.call('CreateVpcEndpointServiceConfiguration', label, () =>
          conn.ec2.send(
            new CreateVpcEndpointServiceConfigurationCommand({
              ...request,
              TagSpecifications: tagSpecifications(
                'vpc-endpoint-service',
                deployment,
                resourceNames(deployment).endpointService,
              ),
              ClientToken: token,
            }),
          ),
        );
        const created = out.ServiceConfiguration!;
        ctx.facts.serviceId = created.ServiceId;
        ctx.facts.serviceName = created.ServiceName;
        await waitUntilListed(
          ctx,
          { step: 'endpoint-service', account: 'provider' },
          `endpoint service ${created.ServiceId}`,
          async () => (await listServices(ctx)).some((x) => x.ServiceId === created.ServiceId),
          ctx.config.timeouts.endpointAvailableSec * 1000,
        );
        await setPrincipals(ctx, created.ServiceId!, want, []);
      },
    });
  } else {
    for (const f of failed) {
      ops.push({
        change: change('delete', `endpoint service ${f.ServiceId}`, FAILED_REASON),
        run: async () => void (await deleteService(ctx, f.ServiceId!)),
      });
    }
    const label = `endpoint service ${svc.ServiceId}`;
    const before = ops.length;
    if (svc.AcceptanceRequired !== true) {
      ops.push({
        change: change('update', label, 'acceptance required is off -> on'),
        run: async () => {
          await conn.call('ModifyVpcEndpointServiceConfiguration', label, () =>
            conn.ec2.send(
              new ModifyVpcEndpointServiceConfigurationCommand({
                ServiceId: svc.ServiceId,
                AcceptanceRequired: true,
              }),
            ),
          );
        },
      });
    }
    const nlbs = svc.NetworkLoadBalancerArns ?? [];
    const wantNlb = ctx.facts.loadBalancerArn;
    if (wantNlb === undefined || nlbs.length !== 1 || nlbs[0] !== wantNlb) {
      ops.push({
        change: change(
          'update',
          label,
          `load balancers ${nlbs.join(',') || '(none)'} -> ${wantNlb ?? 'the NLB of step nlb'}`,
        ),
        run: async () => {
          await conn.call('ModifyVpcEndpointServiceConfiguration', label, () =>
            conn.ec2.send(
              new ModifyVpcEndpointServiceConfigurationCommand({
                ServiceId: svc.ServiceId,
                AddNetworkLoadBalancerArns: nlbs.includes(ctx.facts.loadBalancerArn!)
                  ? []
                  : [ctx.facts.loadBalancerArn!],
                RemoveNetworkLoadBalancerArns: nlbs.filter((a) => a !== ctx.facts.loadBalancerArn),
              }),
            ),
          );
        },
      });
    }
    const add = want.filter((p) => !s.principals.includes(p));
    const remove = s.principals.filter((p) => !want.includes(p));
    if (add.length > 0 || remove.length > 0) {
      const parts = [
        ...add.map((p) => `allow ${p}`),
        ...remove.map((p) => `remove principal ${p} (not in config)`),
      ];
      ops.push({
        change: change('update', label, parts.join('; ')),
        run: () => setPrincipals(ctx, svc.ServiceId!, add, remove),
      });
    }
    if (ops.length === before) ops.push({ change: change('none', label, 'exists, matches config') });
  }
  // Duplicates first, so plan shows them at the top of the step.
  const duplicates: Op[] = s.services.slice(1).map((extra) => ({
    change: change('delete', `endpoint service ${extra.ServiceId}`, duplicateReason(s.choice, serviceIdOf)),
    run: async () => void (await deleteService(ctx, extra.ServiceId!)),
  }));
  return [...duplicates, ...ops];
}

async function setPrincipals(
  ctx: GcpToAwsContext,
  serviceId: string,
  add: string[],
  remove: string[],
): Promise<void> {
  await ctx.provider.call(
    'ModifyVpcEndpointServicePermissions',
    `endpoint service ${serviceId}`,
    () =>
      ctx.provider.ec2.send(
        new ModifyVpcEndpointServicePermissionsCommand({
          ServiceId: serviceId,
          ...(add.length > 0 ? { AddAllowedPrincipals: add } : {}),
          ...(remove.length > 0 ? { RemoveAllowedPrincipals: remove } : {}),
        }),
      ),
    { alsoRetry: GONE },
  );
}

/** Reject what is still connected (reported), then delete; returns the rejections made. */
async function deleteService(ctx: GcpToAwsContext, serviceId: string): Promise<Change[]> {
  const rejected = await rejectLiveConnections(ctx, serviceId);
  try {
    await ignoreGone(GONE, () =>
      ctx.provider.call(
        'DeleteVpcEndpointServiceConfigurations',
        `endpoint service ${serviceId}`,
        async () => {
          const out = await ctx.provider.ec2.send(
            new DeleteVpcEndpointServiceConfigurationsCommand({ ServiceIds: [serviceId] }),
          );
          const failed = out.Unsuccessful?.[0];
          if (failed) throw awsFailure(failed.Error?.Code, failed.Error?.Message);
        },
        // An endpoint deleted or rejected a moment ago can keep its connection for a while.
        { alsoRetry: ['ExistingVpcEndpointConnections'] },
      ),
    );
  } catch (err) {
    if (err instanceof AwsCallError && err.awsCode === 'ExistingVpcEndpointConnections')
      throw await destroyBlocked(ctx, serviceId, err);
    throw err;
  }
  return rejected;
}

/** Step 2, provider: endpoint service for the NLB, acceptance required, only the named principals. */
export const endpointServiceStep: Step<GcpToAwsContext, EndpointServiceState> = {
  id: 'endpoint-service',
  title: 'provider: VPC endpoint service (acceptance required, allowed principals)',
  account: 'provider',
  permissions: ENDPOINT_SERVICE_PERMISSIONS,
  read: readEndpointService,
  plan: (ctx, current): readonly Change[] => serviceOps(ctx, current).map((op) => op.change),
  apply: (ctx, current) => runOps(ctx, 'endpoint-service', 'provider', serviceOps(ctx, current)),
  async destroy(ctx, current) {
    const done: Change[] = [];
    // Failed services too: they carry our tags and would otherwise be left behind.
    for (const svc of [...current.services, ...current.failedServices]) {
      done.push(...(await deleteService(ctx, svc.ServiceId!)));
      done.push(change('delete', `endpoint service ${svc.ServiceId}`, 'destroy'));
    }
    return done;
  },
};
