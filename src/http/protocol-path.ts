/**
 * A request path as oidc-provider's router matches it: letter case ignored, one trailing slash allowed
 * (`POST /TOKEN/` reaches the token endpoint). Edge code that acts on a protocol endpoint (throttles,
 * the JWT introspection answer, 405s) compares this form, so no spelling of the path walks around it.
 */
export const protocolPath = (path: string): string => path.toLowerCase().replace(/(.)\/$/, '$1');
