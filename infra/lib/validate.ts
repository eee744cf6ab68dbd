/**
 * Prop checks shared by the constructs. Each check throws an InfraError naming the prop,
 * the value received, what is allowed and an example; values that are CDK tokens are
 * accepted where the value only flows into a CloudFormation property, and refused where
 * the construct must compute with it at synth time.
 */
import { Token } from 'aws-cdk-lib';
import { InstanceArchitecture, InstanceType } from 'aws-cdk-lib/aws-ec2';
import { parseCidr as parseBlock, type CidrBlock } from '../../common/cidr.js';
import { invalidProp } from './errors.js';

const ID_PATTERNS = {
  vpc: /^vpc-[0-9a-f]{8,17}$/,
  subnet: /^subnet-[0-9a-f]{8,17}$/,
  sg: /^sg-[0-9a-f]{8,17}$/,
  pl: /^pl-[0-9a-f]{8,17}$/,
  eipalloc: /^eipalloc-[0-9a-f]{8,17}$/,
} as const;

const ID_EXAMPLES = {
  vpc: '"vpc-0123456789abcdef0"',
  subnet: '"subnet-0123456789abcdef0"',
  sg: '"sg-0123456789abcdef0"',
  pl: '"pl-63a5400a" (aws ec2 describe-managed-prefix-lists --filters Name=prefix-list-name,Values=com.amazonaws.REGION.s3)',
  eipalloc: '"eipalloc-0123456789abcdef0"',
} as const;

/** A parsed CIDR block (common/cidr.ts). */
export type Cidr = CidrBlock;

/** Parse `a.b.c.d/n` or `v6/n`; undefined when it is not a CIDR block with clear host bits. */
export function parseCidr(text: string): Cidr | undefined {
  const block = parseBlock(text);
  return block?.hostBitsClear === true ? block : undefined;
}

/** Checks the props of one construct; every failure names `where` (class and construct path). */
export class PropChecker {
  constructor(private readonly where: string) {}

  fail(prop: string, value: unknown, allowed: string, example: string): never {
    throw invalidProp(this.where, prop, value, allowed, example);
  }

  /** A literal value the construct computes with: tokens cannot be used. */
  literal(prop: string, value: string, example: string): string {
    if (Token.isUnresolved(value)) {
      this.fail(
        prop,
        value,
        'must be a literal value known at synth time, not a token or reference',
        example,
      );
    }
    return value;
  }

  awsId(prop: string, value: string, kind: keyof typeof ID_PATTERNS): string {
    if (typeof value !== 'string') this.fail(prop, value, `must be a ${kind} ID string`, ID_EXAMPLES[kind]);
    if (!Token.isUnresolved(value) && !ID_PATTERNS[kind].test(value)) {
      this.fail(
        prop,
        value,
        `must be a ${kind} ID like ${ID_EXAMPLES[kind].split(' ')[0]}`,
        ID_EXAMPLES[kind],
      );
    }
    return value;
  }

  awsIds(
    prop: string,
    values: readonly string[] | undefined,
    kind: keyof typeof ID_PATTERNS,
    min: number,
  ): string[] {
    const example = `[${ID_EXAMPLES[kind].split(' ')[0]}, ...]`;
    if (!Array.isArray(values) || values.length < min) {
      this.fail(prop, values, `must list at least ${min} ${kind} ID${min === 1 ? '' : 's'}`, example);
    }
    values.forEach((v, i) => this.awsId(`${prop}[${i}]`, v, kind));
    if (new Set(values).size !== values.length) this.fail(prop, values, 'must not repeat an ID', example);
    return [...values];
  }

  /** A whole number in [min, max]. */
  int(prop: string, value: number, min: number, max: number, example: number): number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      this.fail(prop, value, `must be a whole number from ${min} to ${max}`, String(example));
    }
    return value;
  }

  /** An IPv4 VPC CIDR (the resolver address is computed from it). */
  vpcCidr(prop: string, value: string): Cidr {
    const example = '"10.0.0.0/16"';
    this.literal(prop, value, example);
    const cidr = parseCidr(value);
    if (cidr === undefined || cidr.family !== 4 || cidr.prefixLength < 16 || cidr.prefixLength > 28) {
      this.fail(prop, value, 'must be the VPC primary IPv4 CIDR, /16 to /28, with host bits clear', example);
    }
    return cidr;
  }

  /**
   * Source CIDRs for a public ingress rule: literal, host bits clear, never wider than /16
   * (IPv4) or /48 (IPv6), so an "allow everyone" rule cannot be configured by accident.
   */
  narrowCidrs(prop: string, values: readonly string[] | undefined): Cidr[] {
    const example = '["203.0.113.10/32", "203.0.113.11/32"] (your Cloud NAT egress addresses)';
    if (!Array.isArray(values) || values.length === 0)
      this.fail(prop, values, 'must list at least one CIDR', example);
    const out = values.map((v, i) => {
      this.literal(`${prop}[${i}]`, v, example);
      const cidr = parseCidr(v);
      if (cidr === undefined)
        this.fail(`${prop}[${i}]`, v, 'must be a CIDR block with host bits clear', example);
      const widest = cidr.family === 4 ? 16 : 48;
      if (cidr.prefixLength < widest) {
        this.fail(`${prop}[${i}]`, v, `is wider than /${widest}; name the exact egress addresses`, example);
      }
      return cidr;
    });
    if (new Set(values).size !== values.length) this.fail(prop, values, 'must not repeat a CIDR', example);
    return out;
  }

  /** Availability Zones, one per subnet, in the same order. */
  zones(
    prop: string,
    values: readonly string[] | undefined,
    subnetProp: string,
    subnets: readonly string[],
    minDistinct: number,
  ): string[] {
    const example = '["us-east-1a", "us-east-1b"] (one per subnet, same order)';
    if (!Array.isArray(values) || values.length !== subnets.length) {
      this.fail(
        prop,
        values,
        `must give the Availability Zone of each of the ${subnets.length} ${subnetProp}, in order`,
        example,
      );
    }
    values.forEach((z, i) => {
      if (Token.isUnresolved(z) || !/^[a-z]{2}(-[a-z0-9]+)+-\d[a-z]$/.test(z)) {
        this.fail(`${prop}[${i}]`, z, 'must be a literal Availability Zone name', example);
      }
    });
    if (new Set(values).size < minDistinct) {
      this.fail(
        prop,
        values,
        `must span at least ${minDistinct} distinct Availability Zones (add a ${subnetProp} entry in another AZ)`,
        example,
      );
    }
    return [...values];
  }

  /** A Graviton (arm64) instance type: the AMI is Amazon Linux 2023 arm64. */
  armInstanceType(prop: string, value: string, example: string): InstanceType {
    this.literal(prop, value, example);
    let type: InstanceType;
    try {
      type = new InstanceType(value);
      if (type.architecture !== InstanceArchitecture.ARM_64) throw new Error('not arm64');
    } catch {
      this.fail(
        prop,
        value,
        'must be a Graviton (arm64) instance type, because the AMI is Amazon Linux 2023 arm64',
        example,
      );
    }
    return type;
  }

  arn(prop: string, value: string, pattern: RegExp, allowed: string, example: string): string {
    if (typeof value !== 'string') this.fail(prop, value, allowed, example);
    if (!Token.isUnresolved(value) && !pattern.test(value)) this.fail(prop, value, allowed, example);
    return value;
  }
}
