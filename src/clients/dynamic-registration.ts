/**
 * What a dynamically registered client (RFC 7591 / 7592) may put in its metadata beyond the standard fields.
 * oidc-provider validates the standard metadata itself; Gatehouse's own `gatehouse_*` properties are an
 * allow-list here: only those that make the client's own sign-ins stricter. Anything that widens what the
 * client or its users can do (gatehouse_self_registration, and every property added later until it is
 * listed here) stays for the operator's `gatehouse clients create`.
 */

/** gatehouse_* properties a client may set about itself: each only tightens its own sign-ins. */
export const SELF_SERVICE_PROPERTIES: ReadonlySet<string> = new Set(['gatehouse_require_mfa', 'gatehouse_require_verified_email']);

export class DisallowedClientMetadata extends Error {}

/** Refuses Gatehouse-internal metadata a registrant may not set (RFC 7591 §3.2.2 invalid_client_metadata). */
export function checkSelfServiceMetadata(metadata: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(metadata)) {
    if (value === undefined || !key.startsWith('gatehouse_')) continue;
    if (!SELF_SERVICE_PROPERTIES.has(key)) throw new DisallowedClientMetadata(`${key} cannot be set by dynamic registration`);
  }
}
