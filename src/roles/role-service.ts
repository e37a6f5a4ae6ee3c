/**
 * Roles as records (issue 14): a name, a description and a set of permissions (API + scope). Pages,
 * the management API and the CLI all change roles here. A permission must name a registered API and one
 * of its scopes, so a role cannot hand out what no API defines. Built-in (system) roles are written at
 * start-up from their definitions in code (ensureSystemRoles) and cannot be changed or deleted; a role
 * that the federation file maps a group to cannot be deleted either (start-up would then refuse the file).
 */
import { DuplicateError, type ResourceStore, type RolePermission, type RoleRecord, type RoleStore } from '../../adapters/contract.js';
import { recordedIfDone, type AuditLog, type RecordedAs } from '../audit/audit-log.js';
import { isRoleName, ROLE_NAME_RULE } from './role-name.js';

export class InvalidRoleInput extends Error {}
/** The role cannot be changed or deleted as asked: built in, or mapped by the federation file. */
export class RoleProtected extends Error {}

export type SystemRole = { name: string; description: string; permissions: RolePermission[] };

const byCodePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Distinct, in (resource, scope) order: the stored form, so equal sets compare equal. */
export function normalisePermissions(permissions: readonly RolePermission[]): RolePermission[] {
  const seen = new Map<string, RolePermission>();
  for (const p of permissions) seen.set(JSON.stringify([p.resource, p.scope]), { resource: p.resource, scope: p.scope });
  return [...seen.values()].sort((a, b) => byCodePoint(a.resource, b.resource) || byCodePoint(a.scope, b.scope));
}

const samePermissions = (a: readonly RolePermission[], b: readonly RolePermission[]) =>
  JSON.stringify(normalisePermissions(a)) === JSON.stringify(normalisePermissions(b));

export function createRoleService(deps: {
  roles: RoleStore;
  resources: Pick<ResourceStore, 'find'>;
  systemRoles: readonly SystemRole[];
  /** the federation provider whose group mapping names this role, if any */
  mappedBy?(role: string): string | undefined;
  /** records a change's audit event with its write, as one unit; without it, changes are not recorded here */
  audit?: Pick<AuditLog, 'recordChange'>;
}) {
  const { roles } = deps;
  const recordChange = <T>(change: () => Promise<T>, recorded: RecordedAs<T> | undefined) =>
    deps.audit ? deps.audit.recordChange(change, recorded) : change();
  const system = new Map(deps.systemRoles.map((r) => [r.name, r]));
  const nextUpdate = (previous: number) => Math.max(Date.now(), previous + 1);

  async function checkPermissions(permissions: readonly RolePermission[]): Promise<RolePermission[]> {
    const clean = normalisePermissions(permissions);
    const apis = new Map<string, Set<string> | undefined>();
    for (const p of clean) {
      if (!apis.has(p.resource)) {
        const api = await deps.resources.find(p.resource);
        apis.set(p.resource, api && new Set(Object.keys(api.scopes)));
      }
      const scopes = apis.get(p.resource);
      if (!scopes) throw new InvalidRoleInput(`permissions: no API is registered as ${JSON.stringify(p.resource)}`);
      if (!scopes.has(p.scope)) throw new InvalidRoleInput(`permissions: the API ${p.resource} has no scope ${JSON.stringify(p.scope)}`);
    }
    return clean;
  }

  function refuseProtected(name: string, verb: 'changed' | 'deleted'): void {
    if (system.has(name)) throw new RoleProtected(`${name} is a built-in role; it cannot be ${verb}`);
  }

  const service = {
    list: () => roles.list(),
    find: (name: string) => roles.find(name),
    isSystem: (name: string) => system.has(name),

    async create(input: { name: string; description?: string; permissions?: RolePermission[] }, recorded?: RecordedAs<RoleRecord>): Promise<RoleRecord> {
      const name = input.name.trim();
      if (!isRoleName(name)) throw new InvalidRoleInput(`name: ${JSON.stringify(input.name)} is not a role name (${ROLE_NAME_RULE})`);
      if (system.has(name)) throw new DuplicateError('role');
      const description = (input.description ?? '').trim();
      if (description.length > 500) throw new InvalidRoleInput('description: at most 500 characters');
      const now = Date.now();
      const record: RoleRecord = { name, description, permissions: await checkPermissions(input.permissions ?? []), system: false, createdAt: now, updatedAt: now };
      return recordChange(async () => {
        await roles.create(record);
        return record;
      }, recorded);
    },

    /**
     * Replaces the description and/or the permissions; with `expectedUpdatedAt` (If-Match) only when
     * nobody changed the role since. undefined: no such role; 'stale': changed meanwhile.
     */
    async update(
      name: string, changes: { description?: string; permissions?: RolePermission[] }, expectedUpdatedAt?: number, recorded?: RecordedAs<RoleRecord>,
    ): Promise<RoleRecord | undefined | 'stale'> {
      const current = await roles.find(name);
      if (!current) return undefined;
      refuseProtected(name, 'changed');
      if (expectedUpdatedAt !== undefined && current.updatedAt !== expectedUpdatedAt) return 'stale';
      const description = changes.description !== undefined ? changes.description.trim() : current.description;
      if (description.length > 500) throw new InvalidRoleInput('description: at most 500 characters');
      const permissions = changes.permissions !== undefined ? await checkPermissions(changes.permissions) : current.permissions;
      const next = { ...current, description, permissions, updatedAt: nextUpdate(current.updatedAt) };
      const updated = await recordChange(async () => ((await roles.update(name, { description, permissions, updatedAt: next.updatedAt }, current.updatedAt)) ? next : undefined), recordedIfDone(recorded));
      return updated ?? 'stale';
    },

    /** Adds permissions to a role (CLI `roles grant`). */
    async grant(name: string, permissions: RolePermission[], recorded?: RecordedAs<RoleRecord>): Promise<RoleRecord | undefined> {
      const current = await roles.find(name);
      if (!current) return undefined;
      const updated = await service.update(name, { permissions: [...current.permissions, ...permissions] }, current.updatedAt, recorded);
      if (updated === 'stale') throw new InvalidRoleInput('the role changed meanwhile; try again');
      return updated;
    },

    /** Removes permissions from a role (CLI `roles revoke`). */
    async revoke(name: string, permissions: RolePermission[], recorded?: RecordedAs<RoleRecord>): Promise<RoleRecord | undefined> {
      const current = await roles.find(name);
      if (!current) return undefined;
      const drop = new Set(permissions.map((p) => JSON.stringify([p.resource, p.scope])));
      const updated = await service.update(name, { permissions: current.permissions.filter((p) => !drop.has(JSON.stringify([p.resource, p.scope]))) }, current.updatedAt, recorded);
      if (updated === 'stale') throw new InvalidRoleInput('the role changed meanwhile; try again');
      return updated;
    },

    /** Deletes the role and every assignment of it; false when there is no such role. */
    async delete(name: string, recorded?: RecordedAs<boolean>): Promise<boolean> {
      refuseProtected(name, 'deleted');
      const provider = deps.mappedBy?.(name);
      if (provider) throw new RoleProtected(`${name} is mapped to by the federation provider "${provider}"; remove it from that provider first (FEDERATION_FILE, or the identity provider through the API or CLI)`);
      return recordChange(() => roles.delete(name), recordedIfDone(recorded));
    },

    /** The names among these that are no role (assignment and federation mappings must name roles). */
    async unknown(names: readonly string[]): Promise<string[]> {
      const wanted = [...new Set(names)];
      if (!wanted.length) return [];
      const found = new Set((await roles.findMany(wanted)).map((r) => r.name));
      return wanted.filter((n) => !found.has(n));
    },

    /**
     * Writes the built-in roles as code defines them (start-up, every replica: a race is harmless, the
     * definitions are the same). A role of that name created by hand before it was built in is taken over.
     */
    async ensureSystemRoles(): Promise<void> {
      for (const def of system.values()) {
        const permissions = normalisePermissions(def.permissions);
        const current = await roles.find(def.name);
        if (!current) {
          const now = Date.now();
          try {
            await roles.create({ name: def.name, description: def.description, permissions, system: true, createdAt: now, updatedAt: now });
          } catch (err) {
            if (!(err instanceof DuplicateError)) throw err;
          }
          continue;
        }
        if (current.system && current.description === def.description && samePermissions(current.permissions, permissions)) continue;
        await roles.update(def.name, { description: def.description, permissions, updatedAt: nextUpdate(current.updatedAt) });
      }
    },
  };
  return service;
}

export type RoleService = ReturnType<typeof createRoleService>;
