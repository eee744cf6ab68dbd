/** Credentials that moto maps to a given account: AssumeRole into a role of that account. */
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';

export interface StaticCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

/** moto registers the assumed-role keys in the role's account, so later calls act there. */
export async function motoCredentials(motoUrl: string, accountId: string): Promise<StaticCredentials> {
  const sts = new STSClient({
    endpoint: motoUrl,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIAEKSLINKTEST', secretAccessKey: 'test' },
  });
  try {
    const out = await sts.send(
      new AssumeRoleCommand({
        RoleArn: `arn:aws:iam::${accountId}:role/ekslink-test`,
        RoleSessionName: 'ekslink-test',
      }),
    );
    const c = out.Credentials!;
    return {
      accessKeyId: c.AccessKeyId!,
      secretAccessKey: c.SecretAccessKey!,
      sessionToken: c.SessionToken!,
    };
  } finally {
    sts.destroy();
  }
}
