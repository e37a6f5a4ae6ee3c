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
  'admin:roles:read': 'Read roles and who holds them',
  'admin:roles:write': 'Create, change and delete roles',
  'admin:federation:read': 'Read the upstream directories and identity providers (never their secrets)',
  'admin:federation:write': 'Add, replace and remove upstream directories and identity providers (not those of FEDERATION_FILE)',
  'admin:webhooks:read': 'Read webhook endpoints and their deliveries (never their secrets)',
  'admin:webhooks:write': 'Add, change, delete webhook endpoints, rotate their secrets, send test events and redeliver',
  'admin:tenants:read': 'Read the tenants and their settings (default tenant only)',
  'admin:tenants:write': 'Create tenants, change their settings and branding, delete them with all their data (default tenant only)',
} as const;

export type AdminScope = keyof typeof ADMIN_SCOPES;

const permissionsOf = (scopes: readonly AdminScope[]) => scopes.map((scope) => ({ resource: ADMIN_RESOURCE, scope }));
const ALL = Object.keys(ADMIN_SCOPES) as AdminScope[];

/**
 * The built-in roles of the management API (src/roles: written at start-up, cannot be changed or
 * deleted). A person holding one may obtain and use a token for urn:gatehouse:admin with those scopes.
 */
export const ADMIN_ROLES = [
  { name: 'gatehouse:admin', description: 'Every management permission', permissions: permissionsOf(ALL) },
  {
    name: 'gatehouse:user-admin',
    description: 'Manage user accounts, their sessions and role assignments (no clients, APIs or keys)',
    permissions: permissionsOf(['admin:users:read', 'admin:users:write', 'admin:sessions:write', 'admin:roles:read']),
  },
  { name: 'gatehouse:auditor', description: 'Read everything, change nothing', permissions: permissionsOf(ALL.filter((s) => s.endsWith(':read'))) },
];
