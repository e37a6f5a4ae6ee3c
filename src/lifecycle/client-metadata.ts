/**
 * Gatehouse's own client metadata for the account lifecycle, registered with oidc-provider through
 * `extraClientMetadata` (so `gatehouse clients create --json` validates them like any other field):
 *
 *   gatehouse_self_registration: boolean      show "Create an account" on this client's sign-in page
 *                                              (default: REGISTRATION_ENABLED)
 *   gatehouse_require_verified_email: boolean  issue nothing until the person's email is verified
 */
import { errors } from 'oidc-provider';
import type { ClientMetadataPart } from '../oidc/client-metadata.js';

export const SELF_REGISTRATION = 'gatehouse_self_registration';
export const REQUIRE_VERIFIED_EMAIL = 'gatehouse_require_verified_email';

export const lifecycleClientMetadata: ClientMetadataPart = {
  properties: [SELF_REGISTRATION, REQUIRE_VERIFIED_EMAIL],
  validate(key, value) {
    if (value !== undefined && typeof value !== 'boolean') throw new errors.InvalidClientMetadata(`${key} must be a boolean`);
  },
};

/** The value of one of our properties on an oidc-provider Client (unrecognised keys keep their snake_case name). */
export function clientFlag(client: object | undefined, key: string): boolean | undefined {
  const value = (client as Record<string, unknown> | undefined)?.[key];
  return typeof value === 'boolean' ? value : undefined;
}
