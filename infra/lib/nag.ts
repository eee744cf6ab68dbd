/**
 * cdk-nag (v3) acknowledgements go through CDK's native Validations API; every one carries
 * its reason, and this helper refuses a short one so "ok" can never be the reason.
 */
import { Stack, Token, Validations } from 'aws-cdk-lib';
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

/**
 * How cdk-nag spells an ARN pattern in a finding ID: unresolved region and account appear
 * as `<AWS::Region>` / `<AWS::AccountId>`, a stack with a concrete env shows the literals.
 */
export function nagArn(scope: IConstruct, service: string, resource: string): string {
  const { region, account } = Stack.of(scope);
  const r = Token.isUnresolved(region) ? '<AWS::Region>' : region;
  const a = Token.isUnresolved(account) ? '<AWS::AccountId>' : account;
  return `arn:<AWS::Partition>:${service}:${r}:${a}:${resource}`;
}
