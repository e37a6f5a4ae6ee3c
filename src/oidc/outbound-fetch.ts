/**
 * oidc-provider's requests to other servers (back-channel logout tokens, a client's jwks_uri or
 * sector_identifier_uri) go through its SSRF-protected dispatcher, which refuses loopback, private and other
 * special-use addresses. That is right for the open internet, but it also silently drops back-channel logout
 * (OpenID Connect Back-Channel Logout 1.0 §2.7: the OP "sends an HTTP POST request ... to the RP's logout
 * endpoint") for relying parties on an internal network. The operator can name such hosts in
 * OUTBOUND_PRIVATE_HOSTS; requests to exactly those hosts skip the address check, every other request keeps it.
 * Those requests never follow a redirect: a 3xx is handed back as the answer (oidc-provider counts it as a
 * failure), so a named host cannot send Gatehouse on to another internal host the address check would refuse.
 */
type FetchInit = RequestInit & { dispatcher?: unknown };

export function createOutboundFetch(privateHosts: readonly string[]) {
  const allowed = new Set(privateHosts);
  return function outboundFetch(input: string | URL | Request, init: FetchInit = {}): Promise<Response> {
    const url = new URL(input instanceof Request ? input.url : input);
    if (!allowed.has(url.hostname)) return fetch(input, init);
    const { dispatcher: _ssrfGuard, ...rest } = init;
    return fetch(input, { ...rest, redirect: 'manual' });
  };
}
