/** Roles and APIs written straight to a store, for tests that need them before Gatehouse starts. */
import type { RolePermission, Store } from '../../adapters/contract.js';

export async function seedRole(store: Store, name: string, permissions: RolePermission[] = []): Promise<void> {
  const now = Date.now();
  await store.roles.create({ name, description: `test role ${name}`, permissions, system: false, createdAt: now, updatedAt: now });
}

export async function seedApi(store: Store, identifier: string, scopes: string[], o: { permissionsFromRoles?: boolean; tokenClaims?: ('roles' | 'permissions')[] } = {}): Promise<void> {
  await store.resources.create({
    identifier, name: identifier, scopes: Object.fromEntries(scopes.map((s) => [s, `the scope ${s}`])), accessTokenTtl: 300,
    permissionsFromRoles: o.permissionsFromRoles ?? true, tokenClaims: o.tokenClaims ?? [], createdAt: Date.now(),
  });
}
