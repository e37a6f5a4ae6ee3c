/**
 * Gatehouse's own API, as a resource server: the resource indicator (RFC 8707) its tokens are for, and
 * one scope per area and verb. Registered at start-up (app/build-admin.ts) like any other API, so a
 * management client is an ordinary client_credentials client with some of these scopes.
 */
export const ADMIN_RESOURCE = 'urn:gatehouse:admin';

export const ADMIN_SCOPES = {
  'admin:users:read': 'Read user accounts',
  'admin:users:write': 'Create and change user accounts',
  'admin:clients:read': 'Read registered clients (never their secrets)',
  'admin:clients:write': 'Register, change, delete clients and rotate their secrets',
  'admin:apis:read': 'Read registered APIs and their scopes',
  'admin:apis:write': 'Register APIs and change their scopes',
  'admin:sessions:write': 'End sessions and revoke grants',
  'admin:audit:read': 'Read the audit log',
  'admin:keys:read': 'Read the signing keys (never key material)',
  'admin:keys:write': 'Rotate and revoke signing keys',
  'admin:webhooks:read': 'Read webhook endpoints and their deliveries (never their secrets)',
  'admin:webhooks:write': 'Add, change, delete webhook endpoints, rotate their secrets, send test events and redeliver',
} as const;

export type AdminScope = keyof typeof ADMIN_SCOPES;
