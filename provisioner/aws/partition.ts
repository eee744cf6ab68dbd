/** The AWS partitions ekslink supports: ARNs start `arn:<partition>:`. */
export const PARTITIONS = ['aws', 'aws-cn', 'aws-us-gov'] as const;
export type Partition = (typeof PARTITIONS)[number];

/** The partition a region belongs to: `cn-north-1` -> `aws-cn`, `us-gov-west-1` -> `aws-us-gov`. */
export function partitionOfRegion(region: string): Partition {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

/** The partition of an ARN (`arn:aws-cn:sts::...`), or undefined when it names none we support. */
export function partitionOfArn(arn: string | undefined): Partition | undefined {
  const p = arn?.split(':')[1];
  return (PARTITIONS as readonly string[]).includes(p ?? '') ? (p as Partition) : undefined;
}

/** Rewrite an `arn:aws:` ARN pattern into another partition; other strings (`*`) are unchanged. */
export function inPartition(arn: string, partition: Partition): string {
  return arn.startsWith('arn:aws:') ? `arn:${partition}:${arn.slice('arn:aws:'.length)}` : arn;
}
