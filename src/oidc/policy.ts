/**
 * The interaction policy (which prompts run, and when) and the authentication context values we issue.
 * Login and consent are oidc-provider's own prompts; later factors add checks here rather than a second
 * state machine (STYLE.md §6).
 */
import { interactionPolicy } from 'oidc-provider';

/** `acr` values (OpenID Connect Core §2); documented in the README. */
export const ACR = {
  /** a password (or an upstream directory's password) was checked */
  password: 'urn:gatehouse:acr:password',
  /** an upstream SAML IdP authenticated the person (src/federation) */
  federated: 'urn:gatehouse:acr:federated',
} as const;

/** `amr` values, from the RFC 8176 registry. */
export const AMR = {
  password: 'pwd',
  /** federated authentication (not in the RFC 8176 registry; documented in the README) */
  federated: 'fed',
} as const;

export function createInteractionPolicy() {
  return interactionPolicy.base();
}
