/** The tag the customer's tag-scoped execution role is conditioned on. */
export const MANAGED_BY_KEY = 'chalk.ai/managed-by';
export const MANAGED_BY_VALUE = 'chalk';
/** Which deployment a resource belongs to: resources are found by this, never by a state file. */
export const DEPLOYMENT_KEY = 'ekslink:deployment';

export interface Tag {
  readonly Key: string;
  readonly Value: string;
}

/** The tags every resource of a deployment carries, plus a Name when given. */
export function deploymentTags(deployment: string, name?: string): Tag[] {
  const tags: Tag[] = [
    { Key: MANAGED_BY_KEY, Value: MANAGED_BY_VALUE },
    { Key: DEPLOYMENT_KEY, Value: deployment },
  ];
  if (name !== undefined) tags.push({ Key: 'Name', Value: name });
  return tags;
}

/** True when the tag list marks the resource as this deployment's. */
export function isDeploymentResource(
  tags: readonly { Key?: string | undefined; Value?: string | undefined }[] | undefined,
  deployment: string,
): boolean {
  const get = (key: string) => tags?.find((t) => t.Key === key)?.Value;
  return get(MANAGED_BY_KEY) === MANAGED_BY_VALUE && get(DEPLOYMENT_KEY) === deployment;
}

/** EC2 Describe* filters that select this deployment's resources. */
export function deploymentFilters(deployment: string): { Name: string; Values: string[] }[] {
  return [
    { Name: `tag:${MANAGED_BY_KEY}`, Values: [MANAGED_BY_VALUE] },
    { Name: `tag:${DEPLOYMENT_KEY}`, Values: [deployment] },
  ];
}

/** EC2 TagSpecifications for a create call, so the resource is tagged atomically with its creation. */
export function tagSpecifications<R extends string>(resourceType: R, deployment: string, name?: string) {
  return [{ ResourceType: resourceType, Tags: deploymentTags(deployment, name) }];
}
