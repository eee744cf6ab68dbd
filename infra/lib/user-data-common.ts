/**
 * Shell fragments both instance kinds' user data share. User data is bash run once by
 * cloud-init as root; `set -euo pipefail` makes any failed step fail the boot, and the
 * exit trap (UserData.addSignalOnExitCommand) reports the exit code to CloudFormation.
 */
import { cloudWatchAgentConfig, type ShippedLogFile } from './hardened-instance.js';

export const BOOTSTRAP_LOG = '/var/log/ekslink-bootstrap.log';
const CW_AGENT_CONFIG = '/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json';

export function preamble(): string[] {
  return [
    'set -euo pipefail',
    'umask 022',
    `exec > >(tee -a ${BOOTSTRAP_LOG}) 2>&1`,
    'echo "ekslink bootstrap: start $(date -Is)"',
  ];
}

/** dnf install from the AL2023 repositories (reached through the S3 gateway endpoint). */
export function installPackages(packages: readonly string[]): string[] {
  return [`dnf install -y --setopt=install_weak_deps=False ${packages.join(' ')}`];
}

/**
 * A file written with a quoted heredoc, so the shell expands nothing inside it. CDK tokens
 * in `content` are resolved by CloudFormation before the script runs.
 */
export function writeFile(path: string, content: string, mode: string, owner = 'root:root'): string[] {
  const delimiter = `EKSLINK_EOF_${path.replace(/[^A-Za-z0-9]/g, '_').toUpperCase()}`;
  if (content.split('\n').some((line) => line.trim() === delimiter)) {
    throw new Error(`content for ${path} contains the line ${delimiter}`);
  }
  const body = content.endsWith('\n') ? content : `${content}\n`;
  return [
    `mkdir -p "$(dirname ${path})"`,
    `cat > ${path} <<'${delimiter}'\n${body}${delimiter}`,
    `chmod ${mode} ${path}`,
    `chown ${owner} ${path}`,
  ];
}

/** IMDSv2 session token and the instance's identity, for the steps that call AWS. */
export function imdsIdentity(): string[] {
  return [
    "IMDS_TOKEN=$(curl -fsS -X PUT http://169.254.169.254/latest/api/token -H 'X-aws-ec2-metadata-token-ttl-seconds: 300')",
    'imds() { curl -fsS -H "X-aws-ec2-metadata-token: $IMDS_TOKEN" "http://169.254.169.254/latest/$1"; }',
    'INSTANCE_ID=$(imds meta-data/instance-id)',
    'REGION=$(imds meta-data/placement/region)',
  ];
}

export function startCloudWatchAgent(logGroupName: string, files: readonly ShippedLogFile[]): string[] {
  return [
    ...writeFile(CW_AGENT_CONFIG, cloudWatchAgentConfig(logGroupName, files), '0644'),
    `/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl -a fetch-config -m ec2 -s -c file:${CW_AGENT_CONFIG}`,
  ];
}

/** Poll an HTTP URL on the instance until it answers 2xx, or fail the boot after `timeoutSec`. */
export function waitForHttp(url: string, timeoutSec: number): string[] {
  const tries = Math.max(1, Math.floor(timeoutSec / 5));
  return [
    `for i in $(seq 1 ${tries}); do`,
    `  if curl -fsS -o /dev/null --max-time 3 ${url}; then break; fi`,
    `  if [ "$i" -eq ${tries} ]; then echo "ekslink bootstrap: ${url} not ready after ${timeoutSec}s" >&2; exit 1; fi`,
    '  sleep 5',
    'done',
  ];
}

export function finished(): string[] {
  return ['echo "ekslink bootstrap: done $(date -Is)"'];
}
