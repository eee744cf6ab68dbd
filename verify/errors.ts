/** Codes `ekslink verify` reports per hop (warn or fail): code -> one line of meaning and the first thing to check. */
export const ERROR_CATALOG = {
  EKL_VERIFY_DNS_NOT_FOUND:
    'The server name does not exist for the resolver used (NXDOMAIN, or no A/AAAA record). Fix: Check the spelling of the server name; for a private EKS name, run from a VPC whose resolver answers it, or pass --dns-server.',
  EKL_VERIFY_DNS_TIMEOUT:
    'The resolver did not answer within the timeout. Fix: Check /etc/resolv.conf or --dns-server, and that UDP/TCP 53 to the resolver is open (security group, NACL, route).',
  EKL_VERIFY_DNS_FAILED:
    "The resolver answered with an error (SERVFAIL, REFUSED) or nothing listens there (the report names which). Fix: SERVFAIL: check the resolver's forwarding rules for the name; REFUSED: use a resolver that serves this client (the VPC resolver, or --dns-server).",
  EKL_VERIFY_TCP_REFUSED:
    'The address answered with a TCP reset: nothing listens on that port, or a host firewall rejects it. Fix: Check the port in --server, the NLB listener / proxy is running, and the target security group.',
  EKL_VERIFY_TCP_TIMEOUT:
    'No answer to the TCP SYN within the timeout: traffic is dropped on the way. Fix: Check security groups (TCP 443 from this source), NACLs, route tables, peering/TGW routes and the WireGuard tunnel.',
  EKL_VERIFY_TCP_UNREACHABLE:
    'This host has no route to the address (EHOSTUNREACH / ENETUNREACH). Fix: Check the local routes: the tunnel or peering route for the destination CIDR.',
  EKL_VERIFY_TCP_PARTIAL:
    'Some of the resolved addresses accept TCP and some do not. Fix: Clients that pick a failing address will fail: check the failing addresses (an unhealthy AZ, a missing route or SG rule).',
  EKL_VERIFY_TCP_FAILED:
    'TCP connect failed for another reason (the report names the socket error). Fix: Look at the socket error code in the report.',
  EKL_VERIFY_TLS_SNI_REFUSED:
    'The peer sent a TLS unrecognized_name alert: the ekslink proxy refused the SNI (not on its route allowlist). Fix: Set --tls-server-name (kubeconfig tls-server-name) to the EKS hostname, or add the name to the proxy routes.',
  EKL_VERIFY_TLS_UNKNOWN_CA:
    'The server certificate is not signed by the CA given (or the chain is incomplete). Fix: Pass the cluster CA (aws eks describe-cluster ... certificateAuthority.data) with --ca-file or in the kubeconfig.',
  EKL_VERIFY_TLS_NAME_MISMATCH:
    'The certificate does not carry the expected name (the report lists the names it carries). Fix: Set --tls-server-name to a name the certificate carries (the EKS hostname), or check that the connection reaches the right server.',
  EKL_VERIFY_TLS_CERT_EXPIRED:
    'The server certificate has expired. Fix: Check the clock on this host, and the server certificate rotation.',
  EKL_VERIFY_TLS_CERT_NOT_YET_VALID:
    'The server certificate is not valid yet. Fix: Check the clock on this host (NTP).',
  EKL_VERIFY_TLS_NOT_TLS:
    'The peer does not speak TLS on this port (it answered with something else). Fix: Check the port (443 for the EKS API) and that no plain-HTTP listener sits on the path.',
  EKL_VERIFY_TLS_CLOSED:
    'The peer closed or reset the connection during the TLS handshake. Fix: The proxy refused the connection before TLS (endpoint not allowlisted, PROXY protocol mismatch, no upstream): read the proxy log line for this connection.',
  EKL_VERIFY_TLS_ALERT:
    'The peer ended the handshake with a TLS alert (the report names it). Fix: Look at the alert name: protocol_version and handshake_failure mean no common TLS version or cipher.',
  EKL_VERIFY_TLS_TIMEOUT:
    'The TLS handshake did not finish within the timeout. Fix: The proxy may be unable to reach the upstream (its connect timeout), or the path drops large packets (MTU): check both.',
  EKL_VERIFY_TLS_FAILED:
    'The TLS handshake failed for another reason (the report names the OpenSSL error). Fix: Look at the error in the report.',
  EKL_VERIFY_HTTP_UNAUTHORIZED:
    'The API server answered 401 to an anonymous request: the path works, anonymous access is off. Fix: Nothing on the network path; use a kubeconfig with credentials (kubectl get --raw /version).',
  EKL_VERIFY_HTTP_FORBIDDEN:
    'The API server answered 403 to an anonymous request: the path works, RBAC denies system:anonymous. Fix: Nothing on the network path; the system:public-info-viewer binding was changed, or use credentials.',
  EKL_VERIFY_HTTP_STATUS:
    'The API server answered with an unexpected HTTP status (5xx: the API server itself has a problem). Fix: Check the cluster health in the EKS console; a proxy never answers HTTP itself.',
  EKL_VERIFY_HTTP_NOT_READY:
    '/readyz did not answer 200: the API server reports itself not ready. Fix: Check the cluster status (aws eks describe-cluster) and retry after an upgrade finishes.',
  EKL_VERIFY_HTTP_BAD_BODY:
    '/version answered 200 but not with Kubernetes version JSON: something other than an API server answered. Fix: Check that --server points at the EKS API (through the proxy), not at another HTTPS service.',
  EKL_VERIFY_HTTP_FAILED:
    'The HTTPS request failed (timeout, connection closed, protocol error). Fix: Look at the error in the report; a timeout after a good TLS handshake points at the API server or an MTU problem.',
} as const satisfies Record<string, string>;

export type VerifyErrorCode = keyof typeof ERROR_CATALOG;
