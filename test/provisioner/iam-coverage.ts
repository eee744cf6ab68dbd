/**
 * "Each printed statement is needed": every action × resource pair of a policy must have
 * allowed some authorization the IAM front logged for that principal. What is left over is a
 * permission no call of the runs used.
 */
import type { PolicyDocument } from '../../provisioner/iam/policy.js';
import type { LoggedCall } from './fake-iam.js';
import { actionMatches, arnMatches } from './iam-evaluate.js';

/** `Sid: action on resource` for every pair of the policy that no logged call was allowed by. */
export function unusedGrants(
  policy: PolicyDocument,
  principal: string,
  log: readonly LoggedCall[],
): string[] {
  const allowed = log
    .filter((c) => c.principal === principal)
    .flatMap((c) => c.authorizations.filter((a) => a.decision === 'allow'));
  const unused: string[] = [];
  for (const st of policy.Statement) {
    for (const action of st.Action) {
      for (const resource of st.Resource) {
        const used = allowed.some(
          (a) =>
            a.allowedBy.includes(st.Sid) &&
            actionMatches(action, a.action) &&
            arnMatches(resource, a.resource),
        );
        if (!used) unused.push(`${st.Sid}: ${action} on ${resource}`);
      }
    }
  }
  return unused;
}

/** Calls of the log that were not allowed, as `principal service:operation (decision on resource)`. */
export function notAllowed(log: readonly LoggedCall[]): string[] {
  return log
    .filter((c) => c.outcome !== 'allowed')
    .map((c) => {
      const bad = c.authorizations.find((a) => a.decision !== 'allow');
      return `${c.principal} ${c.service}:${c.operation} ${c.outcome}${bad ? `: ${bad.action} on ${bad.resource} ${JSON.stringify(bad.context)}` : ''}`;
    });
}
