/**
 * cdk-nag (v3) acknowledgements go through CDK's native Validations API; every one carries
 * its reason, and this helper refuses a short one so "ok" can never be the reason.
 */
import { Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

export const MIN_REASON_LENGTH = 40;

/** Acknowledge one cdk-nag finding (`RuleId` or `RuleId[FindingId]`) on a construct and its children. */
export function acknowledgeFinding(scope: IConstruct, id: string, reason: string): void {
  if (reason.trim().length < MIN_REASON_LENGTH) {
    throw new Error(
      `cdk-nag acknowledgement ${id} on ${scope.node.path} needs a reason of at least ${MIN_REASON_LENGTH} characters`,
    );
  }
  Validations.of(scope).acknowledge({ id, reason });
}
