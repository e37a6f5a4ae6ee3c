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
} as const;

/** `amr` values, from the RFC 8176 registry. */
export const AMR = { password: 'pwd' } as const;

/** oidc-provider's login and consent prompts, with `afterLogin` prompts (in order) between them. */
export function createInteractionPolicy(afterLogin: InstanceType<typeof interactionPolicy.Prompt>[] = []) {
  const policy = interactionPolicy.base();
  afterLogin.forEach((prompt, i) => policy.add(prompt, 1 + i));
  return policy;
}
