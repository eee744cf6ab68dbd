/** Codes `ekslink verify` reports per hop (warn or fail), with their meaning and the first thing to check. */
export const ERROR_CATALOG = {
  EKL_VERIFY_DNS_NOT_FOUND: {
    meaning: 'The server name does not exist for the resolver used (NXDOMAIN, or no A/AAAA record).',
    fix: 'Check the spelling of the server name; for a private EKS name, run from a VPC whose resolver answers it, or pass --dns-server.',
  },
  EKL_VERIFY_DNS_FAILED: {
    meaning: 'The resolver did not answer (timeout, SERVFAIL, REFUSED, unreachable).',
    fix: 'Check /etc/resolv.conf or --dns-server, and that UDP/TCP 53 to the resolver is open.',
  },
  EKL_VERIFY_TCP_REFUSED: {
    meaning:
      'The address answered with a TCP reset: nothing listens on that port, or a host firewall rejects it.',
    fix: 'Check the port in --server, the NLB listener / proxy is running, and the target security group.',
  },
  EKL_VERIFY_TCP_TIMEOUT: {
    meaning: 'No answer to the TCP SYN within the timeout: traffic is dropped on the way.',
    fix: 'Check security groups (TCP 443 from this source), NACLs, route tables, peering/TGW routes and the WireGuard tunnel.',
  },
  EKL_VERIFY_TCP_UNREACHABLE: {
    meaning: 'This host has no route to the address (EHOSTUNREACH / ENETUNREACH).',
    fix: 'Check the local routes: the tunnel or peering route for the destination CIDR.',
  },
  EKL_VERIFY_TCP_PARTIAL: {
    meaning: 'Some of the resolved addresses accept TCP and some do not.',
    fix: 'Clients that pick a failing address will fail: check the failing addresses (an unhealthy AZ, a missing route or SG rule).',
  },
  EKL_VERIFY_TCP_FAILED: {
    meaning: 'TCP connect failed for another reason (the report names the socket error).',
    fix: 'Look at the socket error code in the report.',
  },
  EKL_VERIFY_TLS_SNI_REFUSED: {
    meaning:
      'The peer sent a TLS unrecognized_name alert: the ekslink proxy refused the SNI (not on its route allowlist).',
    fix: 'Set --tls-server-name (kubeconfig tls-server-name) to the EKS hostname, or add the name to the proxy routes.',
  },
  EKL_VERIFY_TLS_UNKNOWN_CA: {
    meaning: 'The server certificate is not signed by the CA given (or the chain is incomplete).',
    fix: 'Pass the cluster CA (aws eks describe-cluster ... certificateAuthority.data) with --ca-file or in the kubeconfig.',
  },
  EKL_VERIFY_TLS_NAME_MISMATCH: {
    meaning: 'The certificate does not carry the expected name (the report lists the names it carries).',
    fix: 'Set --tls-server-name to a name the certificate carries (the EKS hostname), or check that the connection reaches the right server.',
  },
  EKL_VERIFY_TLS_CERT_EXPIRED: {
    meaning: 'The server certificate has expired.',
    fix: 'Check the clock on this host, and the server certificate rotation.',
  },
  EKL_VERIFY_TLS_CERT_NOT_YET_VALID: {
    meaning: 'The server certificate is not valid yet.',
    fix: 'Check the clock on this host (NTP).',
  },
  EKL_VERIFY_TLS_NOT_TLS: {
    meaning: 'The peer does not speak TLS on this port (it answered with something else).',
    fix: 'Check the port (443 for the EKS API) and that no plain-HTTP listener sits on the path.',
  },
  EKL_VERIFY_TLS_CLOSED: {
    meaning: 'The peer closed or reset the connection during the TLS handshake.',
    fix: 'The proxy refused the connection before TLS (endpoint not allowlisted, PROXY protocol mismatch, no upstream): read the proxy log line for this connection.',
  },
  EKL_VERIFY_TLS_ALERT: {
    meaning: 'The peer ended the handshake with a TLS alert (the report names it).',
    fix: 'Look at the alert name: protocol_version and handshake_failure mean no common TLS version or cipher.',
  },
  EKL_VERIFY_TLS_TIMEOUT: {
    meaning: 'The TLS handshake did not finish within the timeout.',
    fix: 'The proxy may be unable to reach the upstream (its connect timeout), or the path drops large packets (MTU): check both.',
  },
  EKL_VERIFY_TLS_FAILED: {
    meaning: 'The TLS handshake failed for another reason (the report names the OpenSSL error).',
    fix: 'Look at the error in the report.',
  },
  EKL_VERIFY_HTTP_UNAUTHORIZED: {
    meaning: 'The API server answered 401 to an anonymous request: the path works, anonymous access is off.',
    fix: 'Nothing on the network path; use a kubeconfig with credentials (kubectl get --raw /version).',
  },
  EKL_VERIFY_HTTP_FORBIDDEN: {
    meaning:
      'The API server answered 403 to an anonymous request: the path works, RBAC denies system:anonymous.',
    fix: 'Nothing on the network path; the system:public-info-viewer binding was changed, or use credentials.',
  },
  EKL_VERIFY_HTTP_STATUS: {
    meaning:
      'The API server answered with an unexpected HTTP status (5xx: the API server itself has a problem).',
    fix: 'Check the cluster health in the EKS console; a proxy never answers HTTP itself.',
  },
  EKL_VERIFY_HTTP_NOT_READY: {
    meaning: '/readyz did not answer 200: the API server reports itself not ready.',
    fix: 'Check the cluster status (aws eks describe-cluster) and retry after an upgrade finishes.',
  },
  EKL_VERIFY_HTTP_BAD_BODY: {
    meaning:
      '/version answered 200 but not with Kubernetes version JSON: something other than an API server answered.',
    fix: 'Check that --server points at the EKS API (through the proxy), not at another HTTPS service.',
  },
  EKL_VERIFY_HTTP_FAILED: {
    meaning: 'The HTTPS request failed (timeout, connection closed, protocol error).',
    fix: 'Look at the error in the report; a timeout after a good TLS handshake points at the API server or an MTU problem.',
  },
} as const satisfies Record<string, { readonly meaning: string; readonly fix: string }>;

export type VerifyErrorCode = keyof typeof ERROR_CATALOG;
