/**
 * Errors thrown while synthesizing the infra app. Construct props are checked in the
 * constructor, before any resource exists, so `cdk synth` fails with one precise message.
 */
import { defineErrorFamily } from '../../common/error-family.js';

/** Stable codes of the infra part: code -> meaning and fix (docs/errors.md is generated from it). */
export const ERROR_CATALOG = {
  EKL_INFRA_PROPS_INVALID:
    'A ProxyFleet, ProxyImagePipeline or WireGuardPeer prop is wrong; the message names the prop, the value and an example of a valid one.',
  EKL_INFRA_BUNDLE_MISSING:
    'The proxy bundle (dist/ekslink.mjs) is not there at synth time; run `npm run build` before `cdk synth`/`cdk deploy`.',
  EKL_INFRA_UNIT_INVALID:
    'The systemd unit packaging/systemd/ekslink-proxy.service is missing or has no usable ExecStart; restore it from git.',
  EKL_INFRA_APP_CONFIG_INVALID:
    'The infra app config (context key ekslink:config) is missing or invalid (a key, the outputs file it names, or no pinned image: proxyFleet.amiId); the message names the key and the fix, see docs/deploy.md.',
  EKL_INFRA_SYNTH_FAILED:
    'cdk synth failed for a reason outside the checked props (the message is the CDK error); fix what it names, or report it with the config used.',
} as const;

export type InfraErrorCode = keyof typeof ERROR_CATALOG;

/** An infra app or construct prop is wrong; found at synth time, so the source is the config. */
export class InfraError extends defineErrorFamily({
  name: 'InfraError',
  catalog: ERROR_CATALOG,
  source: 'config',
}) {}

function show(value: unknown): string {
  const text = JSON.stringify(value);
  if (text === undefined) return String(value);
  return text.length > 120 ? `${text.slice(0, 117)}...` : text;
}

/**
 * A prop failed its check. Message shape: `<Construct> '<path>': props.<prop> <what is allowed>
 * (got <value>); e.g. <prop>: <example>`.
 */
export function invalidProp(
  where: string,
  prop: string,
  value: unknown,
  allowed: string,
  example: string,
): InfraError {
  return new InfraError(
    'EKL_INFRA_PROPS_INVALID',
    `${where}: props.${prop} ${allowed} (got ${show(value)}); e.g. ${prop}: ${example}`,
  );
}
