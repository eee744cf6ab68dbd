/**
 * The image pipeline's two AWSTOE component documents. The build component downloads the
 * instance kit and runs `ekslink-install bake` (the same script the fleet's user data runs on
 * a stock image); its validate phase checks the image-release stamp. The test component runs
 * on an instance launched from the new AMI and asks what a security review asks: the unit's
 * `systemd-analyze security` exposure, no SSH daemon, IMDSv2 only, and, with the proxy
 * started from a throwaway config, nothing listening off loopback but the proxy's ports.
 */
import { stringify } from 'yaml';
import { INSTALL_SCRIPT, INSTALLED_SCRIPT } from './instance-kit.js';
import {
  PROXY_CONFIG_PATH,
  PROXY_DATA_PORT,
  renderProxyConfigFile,
  renderProxyConfigInput,
} from './proxy-config.js';

/** Highest `systemd-analyze security` exposure (0-10) the unit may have; the packaging unit scores 1.8. */
export const MAX_UNIT_EXPOSURE = 2.0;
export const IMAGE_CHECKS = '/usr/local/sbin/ekslink-image-checks';
/** The health port of the test phase's throwaway config (the fleet default). */
export const TEST_HEALTH_PORT = 8080;

interface Step {
  readonly name: string;
  readonly action: 'ExecuteBash' | 'S3Download';
  readonly inputs: unknown;
}

function bash(name: string, commands: string[]): Step {
  return { name, action: 'ExecuteBash', inputs: { commands } };
}

function document(name: string, description: string, phases: Record<string, Step[]>): string {
  const text = stringify(
    {
      name,
      description,
      schemaVersion: '1.0',
      phases: Object.entries(phases).map(([phase, steps]) => ({ name: phase, steps })),
    },
    { lineWidth: 0 },
  );
  // AWSTOE documents spell it as the bare `1.0`, which YAML would otherwise read as the number 1.
  return text.replace(/^schemaVersion: .*$/m, 'schemaVersion: 1.0');
}

export interface BuildComponentInput {
  /** s3://bucket/key of the instance kit zip. */
  readonly kitS3Uri: string;
  readonly version: string;
  readonly bundleSha256: string;
  /** The AL2023 Node.js 24 package to install, optionally with its exact version. */
  readonly nodePackage: string;
}

export function buildComponentDocument(i: BuildComponentInput): string {
  return document(
    'ekslink-proxy-install',
    'Bake the ekslink proxy with the instance kit (ekslink-install bake)',
    {
      build: [
        {
          name: 'DownloadKit',
          action: 'S3Download',
          inputs: [{ source: i.kitS3Uri, destination: '/tmp/ekslink-kit.zip' }],
        },
        bash('Bake', [
          'rm -rf /tmp/ekslink-kit && python3 -m zipfile -e /tmp/ekslink-kit.zip /tmp/ekslink-kit',
          `bash /tmp/ekslink-kit/${INSTALL_SCRIPT} bake --node-package ${i.nodePackage}`,
          'rm -rf /tmp/ekslink-kit /tmp/ekslink-kit.zip',
          'dnf clean all',
        ]),
      ],
      validate: [bash('ImageRelease', [`${IMAGE_CHECKS} release ${i.version} ${i.bundleSha256}`])],
    },
  );
}

/**
 * The test phase's one route: under `.invalid` (RFC 6761), which no resolver answers, so the
 * proxy starts and listens but can reach nothing. Not an EKS-shaped name on purpose: the
 * proxy's schema checks names under the EKS domains against the real formats.
 */
export const TEST_PHASE_SNI = 'image-test.ekslink.invalid';

/**
 * A config that starts the proxy on the test instance without reaching anything, built by
 * the fleet's own renderer and checked by the proxy's own schema at synth, so a schema
 * change fails `cdk synth` here instead of the image's test phase.
 */
export function testPhaseProxyConfig(): string {
  return renderProxyConfigFile(
    renderProxyConfigInput({
      eksApiHostnames: [TEST_PHASE_SNI],
      allowedUpstreamCidrs: ['10.0.0.0/8'],
      allowPublicUpstreamCidrs: false,
      dnsResolverIp: '169.254.169.253',
      healthPort: TEST_HEALTH_PORT,
      proxyProtocolMode: 'off',
      allowedVpcEndpointIds: [],
      drainGraceSec: 0,
      drainDeadlineSec: 1,
    }),
    'image pipeline test-phase proxy config',
  ).text.replace(
    /^#.*\n/,
    '# The image test phase: starts the proxy on the test instance, reaches nothing.\n',
  );
}

export function testComponentDocument(i: { version: string; bundleSha256: string }): string {
  const ports = `${PROXY_DATA_PORT},${TEST_HEALTH_PORT}`;
  return document('ekslink-proxy-image-checks', 'What a security review asks of the ekslink proxy image', {
    test: [
      bash('ImageRelease', [`${IMAGE_CHECKS} release ${i.version} ${i.bundleSha256}`]),
      bash('UnitExposure', [`${IMAGE_CHECKS} exposure ${MAX_UNIT_EXPOSURE.toFixed(1)}`]),
      bash('NoSshDaemon', [`${IMAGE_CHECKS} no-ssh`]),
      bash('Imdsv2Only', [`${IMAGE_CHECKS} imdsv2`]),
      bash('StartProxy', [
        `cat > ${PROXY_CONFIG_PATH} <<'EKSLINK_TEST_CONFIG'\n${testPhaseProxyConfig()}EKSLINK_TEST_CONFIG`,
        `chmod 0640 ${PROXY_CONFIG_PATH} && chgrp ekslink ${PROXY_CONFIG_PATH}`,
        `${INSTALLED_SCRIPT} start`,
        `for i in $(seq 1 30); do curl -fsS -o /dev/null --max-time 2 http://127.0.0.1:${TEST_HEALTH_PORT}/healthz && exit 0; sleep 2; done; echo "proxy not alive after 60 s" >&2; exit 1`,
      ]),
      bash('OnlyProxyListens', [`${IMAGE_CHECKS} listeners ${ports}`]),
      bash('StopProxy', ['systemctl disable --now ekslink-proxy.service', `rm -f ${PROXY_CONFIG_PATH}`]),
    ],
  });
}
