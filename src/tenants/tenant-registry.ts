/**
 * The tenants of a deployment (issue 15): create, read, change and delete them. The management API
 * (/admin/v1/tenants) and the CLI (`gatehouse tenants`) are doors onto this one service. A tenant's id
 * is a DNS label (contract.ts: TENANT_ID_PATTERN) and never changes; its settings are validated against
 * tenant-settings.ts and the deployment's floors. The default tenant is implicit and cannot be created,
 * changed here or deleted: its settings are the deployment's own.
 */
import { DEFAULT_TENANT, DuplicateError, TENANT_ID_PATTERN, type TenantRecord, type TenantStore } from '../../adapters/contract.js';
import { DomainError } from '../errors/errors.js';
import {
  checkFloors, storedTenantSettingsSchema, tenantSettingsSchema, TenantSettingsRefused, type PolicyFloors, type StoredFederation, type StoredTenantSettings,
} from './tenant-settings.js';
import { readFederationSettings, type FederationConfig } from '../config/federation/federation-file.js';
import { FederationFileError } from '../config/federation/checks.js';
import { providerSummaries } from '../federation/provider-summary.js';

/** Bad input to the registry; `path` names the field (as the API's problem details do). */
export class InvalidTenantInput extends Error {
  constructor(readonly path: string, message: string) {
    super(`${path}: ${message}`);
  }
}

/** No tenant has this id (a door that was asked to run inside one: the CLI's --tenant). */
export class UnknownTenant extends DomainError {
  readonly kind = 'not_found';
  constructor(id: string) {
    super(`no tenant ${JSON.stringify(id)}`, `There is no tenant ${JSON.stringify(id)}`);
  }
}

export const TENANT_ID_RULE = 'lower-case letters, digits and hyphens, 1 to 63, not starting or ending with a hyphen';

/** A host name as a tenant's own (lower-cased, no port, no trailing dot): null when it is not one. */
export function normaliseHost(host: string): string | null {
  const h = host.trim().toLowerCase().replace(/\.$/, '');
  return /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/.test(h) ? h : null;
}

/** settings: `{ policy?, branding?, federation? }` (tenant-settings.ts; federation in the federation file's format, files inline) */
export type TenantInput = { id: string; name: string; host?: string | null; settings?: unknown };
export type TenantChanges = { name?: string; host?: string | null; settings?: unknown };

export type TenantRegistry = ReturnType<typeof createTenantRegistry>;

export function createTenantRegistry(deps: {
  tenants: TenantStore;
  floors: PolicyFloors;
  /** the deployment's own host (ISSUER's), which no tenant may claim */
  issuerHost: string;
  /**
   * makes what a new tenant's first request would otherwise wait for (its first signing key: an RSA key
   * takes some 100 ms to generate), so that its first discovery is as fast as any cold one
   */
  provision?(tenant: TenantRecord): Promise<void>;
  /** encrypts a tenant's federation settings for the store (the at-rest cipher) */
  seal?(text: string): string;
  /** refuses federation settings that cannot work in this tenant (group mappings naming roles it lacks): InvalidTenantInput */
  checkFederation?(tenantId: string, federation: FederationConfig): Promise<void>;
}) {
  const { tenants } = deps;
  // this process's own changes reach its cached apps at once (other replicas: TENANT_SETTINGS_REFRESH)
  const changeListeners: ((id: string) => void)[] = [];
  const changed = (id: string) => changeListeners.forEach((listener) => listener(id));

  /**
   * The settings to store from `input`: each of policy, branding and federation given replaces the
   * stored one (`previous`); left out, it stays; federation null removes the tenant's providers.
   */
  async function settingsOf(id: string, input: unknown, previous?: StoredTenantSettings): Promise<StoredTenantSettings> {
    if (input !== undefined && (typeof input !== 'object' || input === null || Array.isArray(input))) throw new InvalidTenantInput('settings', 'a JSON object');
    const { federation, ...rest } = (input ?? {}) as Record<string, unknown>;
    const parsed = tenantSettingsSchema.safeParse({ ...rest, policy: rest.policy ?? previous?.policy, branding: rest.branding ?? previous?.branding });
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new InvalidTenantInput(['settings', ...issue.path.map(String)].join('.'), issue.message);
    }
    try {
      checkFloors(parsed.data.policy, deps.floors);
    } catch (err) {
      if (err instanceof TenantSettingsRefused) throw new InvalidTenantInput(`settings.${err.path}`, err.message.slice(err.path.length + 2));
      throw err;
    }
    const stored = federation === undefined ? previous?.federation : federation === null ? undefined : await sealFederation(id, federation);
    return { ...parsed.data, ...(stored ? { federation: stored } : {}) };
  }

  /** Checks federation settings as the federation file's are checked (files inline), then seals them. */
  async function sealFederation(id: string, input: unknown): Promise<StoredFederation> {
    if (!deps.seal) throw new InvalidTenantInput('settings.federation', 'not available here');
    let federation: FederationConfig;
    try {
      federation = readFederationSettings(input, { source: `tenant ${id}`, files: 'inline' });
    } catch (err) {
      if (err instanceof FederationFileError) throw new InvalidTenantInput(`settings.federation.${err.path}`, `expected ${err.accepted}`);
      throw err;
    }
    await deps.checkFederation?.(id, federation);
    return { sealed: deps.seal(JSON.stringify(input)), providers: providerSummaries(federation).map((p) => ({ id: p.id, protocol: p.protocol })) };
  }

  function nameOf(input: string): string {
    const name = input.trim();
    if (name.length < 1 || name.length > 100) throw new InvalidTenantInput('name', '1 to 100 characters');
    return name;
  }
  function hostOf(input: string | null | undefined): string | null {
    if (input === null || input === undefined || input === '') return null;
    const host = normaliseHost(input);
    if (!host) throw new InvalidTenantInput('host', 'a host name such as id.example.com (no scheme, port or path)');
    if (host === deps.issuerHost) throw new InvalidTenantInput('host', 'is the deployment\'s own host (ISSUER)');
    return host;
  }

  return {
    find: (id: string) => (id === DEFAULT_TENANT ? Promise.resolve(undefined) : tenants.find(id)),
    /** `listener(id)` after this process changed or deleted a tenant */
    onChange(listener: (id: string) => void): void {
      changeListeners.push(listener);
    },

    /** the tenant whose own host this is (lower case, no port) */
    findByHost: (host: string) => tenants.findByHost(host),
    list: (query: { limit: number; after?: string | null }) => tenants.list(query),
    count: () => tenants.count(),

    /** Fails with DuplicateError('tenant') when the id or host is taken. */
    async create(input: TenantInput): Promise<TenantRecord> {
      if (!TENANT_ID_PATTERN.test(input.id)) throw new InvalidTenantInput('id', TENANT_ID_RULE);
      if (input.id === DEFAULT_TENANT) throw new DuplicateError('tenant');
      const now = Date.now();
      const record: TenantRecord = {
        id: input.id, name: nameOf(input.name), host: hostOf(input.host), settings: await settingsOf(input.id, input.settings), version: 1, createdAt: now, updatedAt: now,
      };
      await tenants.create(record);
      await deps.provision?.(record);
      return record;
    },

    /**
     * Changes name, host and settings (each of policy, branding and federation given replaces the stored one); with
     * `expectedVersion` only while nobody changed it since. undefined: no such tenant; 'stale': changed.
     */
    async update(id: string, changes: TenantChanges, expectedVersion?: number): Promise<TenantRecord | undefined | 'stale'> {
      const found = id === DEFAULT_TENANT ? undefined : await tenants.find(id);
      if (!found) return undefined;
      if (expectedVersion !== undefined && found.version !== expectedVersion) return 'stale';
      const next = {
        name: changes.name === undefined ? found.name : nameOf(changes.name),
        host: changes.host === undefined ? found.host : hostOf(changes.host),
        settings: changes.settings === undefined ? found.settings : await settingsOf(id, changes.settings, storedTenantSettingsSchema.parse(found.settings)),
        updatedAt: Math.max(Date.now(), found.updatedAt + 1),
      };
      const updated = (await tenants.update(id, next, found.version)) ?? 'stale';
      if (updated !== 'stale') changed(id);
      return updated;
    },

    /**
     * Its stored federation settings sealed again under the cipher's current key (`keys reencrypt`):
     * 'current' when there are none or they already are, 'changed' when the tenant changed meanwhile (run
     * it again), 'reencrypted' when rewritten.
     */
    async resealFederation(id: string, cipher: { isCurrent(c: string): boolean; decrypt(c: string): string; encrypt(p: string): string }): Promise<'current' | 'reencrypted' | 'changed'> {
      const found = await tenants.find(id);
      const stored = found && storedTenantSettingsSchema.parse(found.settings);
      if (!found || !stored?.federation || cipher.isCurrent(stored.federation.sealed)) return 'current';
      const settings = { ...stored, federation: { ...stored.federation, sealed: cipher.encrypt(cipher.decrypt(stored.federation.sealed)) } };
      const updated = await tenants.update(id, { name: found.name, host: found.host, settings, updatedAt: Math.max(Date.now(), found.updatedAt + 1) }, found.version);
      if (!updated) return 'changed';
      changed(id);
      return 'reencrypted';
    },

    /** Deletes the tenant and every record it owns; false when there was none. */
    async delete(id: string): Promise<boolean> {
      if (id === DEFAULT_TENANT) throw new InvalidTenantInput('id', 'the default tenant cannot be deleted');
      if (!TENANT_ID_PATTERN.test(id)) return false;
      const deleted = await tenants.delete(id);
      changed(id);
      return deleted;
    },
  };
}
