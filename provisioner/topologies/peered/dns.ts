/** DNS by a private hosted zone: authorize (zone owner), associate (requester), clean up the authorization. */
import {
  AssociateVPCWithHostedZoneCommand,
  CreateVPCAssociationAuthorizationCommand,
  DeleteVPCAssociationAuthorizationCommand,
  DisassociateVPCFromHostedZoneCommand,
  GetChangeCommand,
  GetHostedZoneCommand,
  ListHostedZonesByVPCCommand,
  ListVPCAssociationAuthorizationsCommand,
  type VPCRegion,
} from '@aws-sdk/client-route-53';
import { change, type Step } from '../../engine/step.js';
import { waitFor } from '../../engine/waiter.js';
import type { PeeredContext } from './context.js';
import { PeeredError } from './errors.js';
import { zoneArns } from './iam-scope.js';
import type { IamPermission } from '../../iam/policy.js';
import { ignoreGone, runOps, type Op } from '../shared/ops.js';

// --- a customer-owned private hosted zone, associated across accounts ---

interface ZoneState {
  readonly zoneId: string | undefined;
  readonly isPrivate: boolean;
  readonly associated: boolean;
  readonly authorized: boolean;
}

function vpcOf(ctx: PeeredContext) {
  return { VPCId: ctx.config.requester.vpcId, VPCRegion: ctx.config.requester.region as VPCRegion };
}

function zoneLabel(ctx: PeeredContext): string {
  return `${ctx.config.requester.vpcId} (${ctx.config.requester.region}) with zone ${ctx.config.dns.privateHostedZoneId}`;
}

/** Zone owner's view: is the zone private, is the requester VPC associated, is an authorization open. */
async function readZoneOwner(ctx: PeeredContext): Promise<ZoneState> {
  const zoneId = ctx.config.dns.privateHostedZoneId;
  if (zoneId === undefined) return { zoneId, isPrivate: false, associated: false, authorized: false };
  const conn = ctx.accepter;
  const zone = await conn.call('GetHostedZone', `hosted zone ${zoneId}`, () =>
    conn.route53.send(new GetHostedZoneCommand({ Id: zoneId })),
  );
  const vpc = vpcOf(ctx);
  const associated = (zone.VPCs ?? []).some((v) => v.VPCId === vpc.VPCId && v.VPCRegion === vpc.VPCRegion);
  const auths = await conn.call('ListVPCAssociationAuthorizations', `hosted zone ${zoneId}`, () =>
    conn.route53.send(new ListVPCAssociationAuthorizationsCommand({ HostedZoneId: zoneId })),
  );
  const authorized = (auths.VPCs ?? []).some((v) => v.VPCId === vpc.VPCId && v.VPCRegion === vpc.VPCRegion);
  ctx.facts.zoneAssociated = associated;
  return { zoneId, isPrivate: zone.HostedZone?.Config?.PrivateZone === true, associated, authorized };
}

function deleteAuthorization(ctx: PeeredContext): Promise<void> {
  const conn = ctx.accepter;
  const zoneId = ctx.config.dns.privateHostedZoneId!;
  return ignoreGone(['VPCAssociationAuthorizationNotFound'], () =>
    conn.call('DeleteVPCAssociationAuthorization', `authorization of ${zoneLabel(ctx)}`, () =>
      conn.route53.send(
        new DeleteVPCAssociationAuthorizationCommand({ HostedZoneId: zoneId, VPC: vpcOf(ctx) }),
      ),
    ),
  );
}

function authorizeOps(ctx: PeeredContext, s: ZoneState): Op[] {
  if (s.zoneId === undefined) return [];
  if (!s.isPrivate) {
    throw new PeeredError(
      'EKL_PEERED_ZONE_NOT_PRIVATE',
      `dns.privateHostedZoneId ${s.zoneId} is a public hosted zone; name a private one`,
    );
  }
  const label = `association authorization for ${zoneLabel(ctx)}`;
  if (s.associated) return [{ change: change('none', label, 'not needed: the VPC is associated') }];
  if (s.authorized) return [{ change: change('none', label, 'open; step dns-associate uses it') }];
  const conn = ctx.accepter;
  return [
    {
      change: change('create', label, 'CreateVPCAssociationAuthorization in the zone owner account'),
      run: async () => {
        await conn.call('CreateVPCAssociationAuthorization', label, () =>
          conn.route53.send(
            new CreateVPCAssociationAuthorizationCommand({ HostedZoneId: s.zoneId, VPC: vpcOf(ctx) }),
          ),
        );
      },
    },
  ];
}

const ZONE_OWNER_READ: IamPermission = {
  why: 'read the private hosted zone and its association authorizations',
  actions: ['route53:GetHostedZone', 'route53:ListVPCAssociationAuthorizations'],
  resources: ['arn:aws:route53:::hostedzone/*'],
  tagCondition: 'none',
  scoped: (scope) => ({ resources: zoneArns(scope) }),
};

/** Step 4a (accepter, zone owner): authorize the requester VPC to associate with the zone. */
export const dnsAuthorizeStep: Step<PeeredContext, ZoneState> = {
  id: 'dns-authorize',
  title: 'accepter: authorize the metadata plane VPC to associate with the private hosted zone',
  account: 'accepter',
  permissions: [
    ZONE_OWNER_READ,
    {
      why: 'authorize the cross account association and remove the authorization',
      actions: ['route53:CreateVPCAssociationAuthorization', 'route53:DeleteVPCAssociationAuthorization'],
      resources: ['arn:aws:route53:::hostedzone/*'],
      tagCondition: 'none',
      scoped: (scope) => ({ resources: zoneArns(scope) }),
    },
  ],
  read: readZoneOwner,
  plan: (ctx, s) => authorizeOps(ctx, s).map((o) => o.change),
  apply: (ctx, s) => runOps(ctx, 'dns-authorize', 'accepter', authorizeOps(ctx, s)),
  async destroy(ctx, s) {
    if (s.zoneId === undefined || !s.authorized) return [];
    await deleteAuthorization(ctx);
    return [change('delete', `association authorization for ${zoneLabel(ctx)}`, 'left over')];
  },
};

interface AssociationState {
  readonly zoneId: string | undefined;
  readonly associated: boolean;
}

/** VPC owner's view: ListHostedZonesByVPC lists zones of every account associated with the VPC. */
async function readAssociation(ctx: PeeredContext): Promise<AssociationState> {
  const zoneId = ctx.config.dns.privateHostedZoneId;
  if (zoneId === undefined) return { zoneId, associated: false };
  const conn = ctx.requester;
  const vpc = vpcOf(ctx);
  const out = await conn.call('ListHostedZonesByVPC', `zones of ${vpc.VPCId}`, () =>
    conn.route53.send(new ListHostedZonesByVPCCommand({ VPCId: vpc.VPCId, VPCRegion: vpc.VPCRegion })),
  );
  const associated = (out.HostedZoneSummaries ?? []).some(
    (z) => z.HostedZoneId?.replace('/hostedzone/', '') === zoneId,
  );
  ctx.facts.zoneAssociated = associated;
  return { zoneId, associated };
}

function associateOps(ctx: PeeredContext, s: AssociationState): Op[] {
  if (s.zoneId === undefined) return [];
  const label = `association of ${zoneLabel(ctx)}`;
  if (s.associated) return [{ change: change('none', label, 'associated') }];
  const conn = ctx.requester;
  return [
    {
      change: change('create', label, 'AssociateVPCWithHostedZone from the metadata plane account'),
      run: async () => {
        const out = await conn.call('AssociateVPCWithHostedZone', label, () =>
          conn.route53.send(
            new AssociateVPCWithHostedZoneCommand({ HostedZoneId: s.zoneId, VPC: vpcOf(ctx) }),
          ),
        );
        const changeId = out.ChangeInfo?.Id;
        if (changeId !== undefined) {
          await waitFor(
            `Route 53 change ${changeId}`,
            async () => {
              const c = await conn.call('GetChange', `change ${changeId}`, () =>
                conn.route53.send(new GetChangeCommand({ Id: changeId })),
              );
              return c.ChangeInfo?.Status === 'INSYNC'
                ? { done: true, value: true }
                : { done: false, state: c.ChangeInfo?.Status ?? 'unknown' };
            },
            {
              clock: ctx.clock,
              timeoutMs: ctx.config.timeouts.peeringActiveSec * 1000,
              intervalMs: ctx.pollIntervalMs,
            },
          );
        }
        ctx.facts.zoneAssociated = true;
      },
    },
  ];
}

/** Step 4b (requester, VPC owner): associate its VPC with the zone, using the authorization. */
export const dnsAssociateStep: Step<PeeredContext, AssociationState> = {
  id: 'dns-associate',
  title: 'requester: associate the metadata plane VPC with the private hosted zone',
  account: 'requester',
  permissions: [
    {
      why: 'find zones associated with the VPC',
      actions: ['route53:ListHostedZonesByVPC'],
      resources: ['*'],
      tagCondition: 'none',
    },
    {
      why: 'associate and disassociate the VPC with the private hosted zone',
      actions: ['route53:AssociateVPCWithHostedZone', 'route53:DisassociateVPCFromHostedZone'],
      resources: ['arn:aws:route53:::hostedzone/*'],
      tagCondition: 'none',
      scoped: (scope) => ({ resources: zoneArns(scope) }),
    },
    {
      why: 'wait for the Route 53 change',
      actions: ['route53:GetChange'],
      resources: ['arn:aws:route53:::change/*'],
      tagCondition: 'none',
    },
    {
      why: 'Route 53 checks the VPC when associating',
      actions: ['ec2:DescribeVpcs'],
      resources: ['*'],
      tagCondition: 'none',
    },
  ],
  read: readAssociation,
  plan: (ctx, s) => associateOps(ctx, s).map((o) => o.change),
  apply: (ctx, s) => runOps(ctx, 'dns-associate', 'requester', associateOps(ctx, s)),
  async destroy(ctx, s) {
    if (s.zoneId === undefined || !s.associated) return [];
    const conn = ctx.requester;
    const label = `association of ${zoneLabel(ctx)}`;
    await ignoreGone(['VPCAssociationNotFound'], () =>
      conn.call('DisassociateVPCFromHostedZone', label, () =>
        conn.route53.send(
          new DisassociateVPCFromHostedZoneCommand({ HostedZoneId: s.zoneId, VPC: vpcOf(ctx) }),
        ),
      ),
    );
    ctx.facts.zoneAssociated = false;
    return [change('delete', label, 'disassociated')];
  },
};

function cleanupOps(ctx: PeeredContext, s: ZoneState): Op[] {
  if (s.zoneId === undefined || !s.authorized) return [];
  const label = `association authorization for ${zoneLabel(ctx)}`;
  if (!s.associated) return [{ change: change('none', label, 'kept until the association exists') }];
  return [
    {
      change: change('delete', label, 'the association exists; an open authorization is no longer needed'),
      run: () => deleteAuthorization(ctx),
    },
  ];
}

/** Step 4c (accepter): delete the authorization once the association exists, as AWS recommends. */
export const dnsCleanupStep: Step<PeeredContext, ZoneState> = {
  id: 'dns-authorization-cleanup',
  title: 'accepter: delete the association authorization once the VPC is associated',
  account: 'accepter',
  permissions: [
    ZONE_OWNER_READ,
    {
      why: 'delete the association authorization after use',
      actions: ['route53:DeleteVPCAssociationAuthorization'],
      resources: ['arn:aws:route53:::hostedzone/*'],
      tagCondition: 'none',
      scoped: (scope) => ({ resources: zoneArns(scope) }),
    },
  ],
  read: readZoneOwner,
  plan: (ctx, s) => cleanupOps(ctx, s).map((o) => o.change),
  apply: (ctx, s) => runOps(ctx, 'dns-authorization-cleanup', 'accepter', cleanupOps(ctx, s)),
  // dns-authorize's destroy removes any authorization left over.
  destroy: async () => [],
};
