/**
 * The client and resource (API) registries. The client registry has oidc-provider validate the metadata
 * it stores (`validate`), and the provider reads its clients through the registry: the caller passes the
 * validation in as a function of the provider it builds next (the server) or loads on demand (the CLI).
 */
import type { Store } from '../../adapters/contract.js';
import type { AtRestCipher } from '../keys/at-rest-cipher.js';
import type { AuditLog } from '../audit/audit-log.js';
import { createClientRegistry, type ClientRegistry, type ClientValidator } from '../clients/client-registry.js';
import { createResourceRegistry, type ResourceRegistry } from '../clients/resource-registry.js';
import { OIDC_SCOPES } from '../oidc/claims.js';

export type Registries = { clients: ClientRegistry; resources: ResourceRegistry };

export function buildRegistries(store: Store, cipher: AtRestCipher, validate: ClientValidator, audit?: Pick<AuditLog, 'recordChange'>): Registries {
  const resources = createResourceRegistry({ resources: store.resources });
  const clients = createClientRegistry({
    clients: store.clients,
    cipher,
    oidcScopes: OIDC_SCOPES,
    resourceExists: async (identifier) => (await resources.find(identifier)) !== undefined,
    records: store.records,
    artifacts: store.oidc,
    validate,
    ...(audit ? { audit } : {}),
  });
  return { clients, resources };
}
