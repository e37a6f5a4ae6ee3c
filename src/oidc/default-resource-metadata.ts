/**
 * Client metadata `gatehouse_default_resource`: the API (a registered resource identifier, RFC 8707) a
 * client_credentials request without `resource` is for. oidc-provider validates the shape synchronously here;
 * that it names a registered API is checked by the client registry when the client is registered
 * (clients/client-registry.ts), and again at the token endpoint (invalid_target when it is gone).
 */
import { errors } from 'oidc-provider';
import type { ClientMetadataPart } from './client-metadata.js';
import { DEFAULT_RESOURCE } from '../clients/client-scope.js';

export const defaultResourceClientMetadata: ClientMetadataPart = {
  properties: [DEFAULT_RESOURCE],
  validate(key, value) {
    if (value === undefined) return;
    if (typeof value !== 'string' || value.trim() !== value || !URL.canParse(value)) throw new errors.InvalidClientMetadata(`${key} must be an absolute URI naming a registered API`);
    // RFC 8707 §2: a resource indicator "MUST NOT include a fragment component"
    if (new URL(value).hash || value.includes('#')) throw new errors.InvalidClientMetadata(`${key} must not contain a fragment (RFC 8707 §2)`);
  },
};
