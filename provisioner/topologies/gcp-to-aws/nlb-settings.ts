import { HEALTH_CHECK } from '../../../common/drain-timing.js';
import type { GcpToAwsContext } from './context.js';

// What the config asks of the NLB, in the attribute names and units ELBv2 uses, so the
// same maps drive create, drift detection and correction.

/** Load balancer attributes: cross-zone on, so one proxy per AZ is enough. */
export function desiredLbAttributes(): Record<string, string> {
  return { 'load_balancing.cross_zone.enabled': 'true' };
}

/** Target group attributes (TCP target group, instance targets). */
export function desiredTgAttributes(ctx: GcpToAwsContext): Record<string, string> {
  const nlb = ctx.config.provider.nlb;
  return {
    'deregistration_delay.timeout_seconds': String(nlb.deregistrationDelaySec),
    'deregistration_delay.connection_termination.enabled': String(nlb.connectionTermination),
    'proxy_protocol_v2.enabled': String(nlb.proxyProtocolV2),
  };
}

/** Listener attributes: kube watches idle for long, so the TCP idle timeout is raised (60-6000 s). */
export function desiredListenerAttributes(ctx: GcpToAwsContext): Record<string, string> {
  return { 'tcp.idle_timeout.seconds': String(ctx.config.provider.nlb.idleTimeoutSec) };
}

/**
 * HTTP health check on the proxy's health port; valid for a TCP target group. Interval and
 * thresholds come from common/drain-timing.ts: a draining proxy is noticed within its grace.
 */
export function desiredHealthCheck(ctx: GcpToAwsContext) {
  const nlb = ctx.config.provider.nlb;
  return {
    HealthCheckProtocol: 'HTTP' as const,
    HealthCheckPort: String(nlb.proxyHealthPort),
    HealthCheckPath: nlb.healthCheckPath,
    HealthCheckIntervalSeconds: HEALTH_CHECK.intervalSec,
    HealthCheckTimeoutSeconds: HEALTH_CHECK.timeoutSec,
    HealthyThresholdCount: HEALTH_CHECK.healthyThresholdCount,
    UnhealthyThresholdCount: HEALTH_CHECK.unhealthyThresholdCount,
  };
}
