/** oidc-provider's artifacts (and our short-lived records) in SQLite: OidcModelStore on the oidc_models table. */
import type Database from 'better-sqlite3';
import { grantOf, type OidcModelStore, type OidcPayload } from './contract.js';
import type { ForTenant } from './sqlite-sql.js';

type OidcRow = { payload: string; expires_at: number | null; consumed_at: number | null };

export type SqliteOidcStores = {
  forTenant: ForTenant<OidcModelStore & { sweep(): number }>;
  /** The root's sweep: the expired records of every tenant (the oidc_models_expires_at index, not led by the tenant). */
  sweepEveryTenant(): number;
};

export function sqliteOidcStore(db: Database.Database): SqliteOidcStores {
  const now = () => Date.now();
  const live = (row: OidcRow | undefined): OidcPayload | undefined => {
    if (!row || (row.expires_at !== null && row.expires_at <= now())) return undefined;
    const payload = JSON.parse(row.payload) as OidcPayload;
    return row.consumed_at === null ? payload : { ...payload, consumed: Math.floor(row.consumed_at / 1000) };
  };
  const select = (where: string) =>
    db.prepare<[string, string, string], OidcRow>(`SELECT payload, expires_at, consumed_at FROM oidc_models WHERE tenant_id = ? AND model = ? AND ${where} = ?`);
  const q = {
    upsert: db.prepare(
      `INSERT INTO oidc_models (tenant_id, model, id, payload, grant_id, user_code, uid, account_id, client_id, expires_at, consumed_at)
       VALUES (@tenant, @model, @id, @payload, @grantId, @userCode, @uid, @accountId, @clientId, @expiresAt, NULL)
       ON CONFLICT (tenant_id, model, id) DO UPDATE SET payload = excluded.payload, grant_id = excluded.grant_id,
         user_code = excluded.user_code, uid = excluded.uid, account_id = excluded.account_id, client_id = excluded.client_id,
         expires_at = excluded.expires_at`,
    ),
    find: select('id'),
    findByUid: select('uid'),
    findByUserCode: select('user_code'),
    consume: db.prepare(
      'UPDATE oidc_models SET consumed_at = ? WHERE tenant_id = ? AND model = ? AND id = ? AND consumed_at IS NULL AND (expires_at IS NULL OR expires_at > ?)',
    ),
    destroy: db.prepare('DELETE FROM oidc_models WHERE tenant_id = ? AND model = ? AND id = ?'),
    revokeByGrantId: db.prepare('DELETE FROM oidc_models WHERE tenant_id = ? AND grant_id = ?'),
    findByAccountId: db.prepare<[string, string, string], OidcRow>(
      'SELECT payload, expires_at, consumed_at FROM oidc_models WHERE tenant_id = ? AND account_id = ? AND model = ? ORDER BY rowid',
    ),
    findByClientId: db.prepare<[string, string, string], OidcRow>(
      'SELECT payload, expires_at, consumed_at FROM oidc_models WHERE tenant_id = ? AND client_id = ? AND model = ? ORDER BY rowid',
    ),
    sweep: db.prepare('DELETE FROM oidc_models WHERE expires_at IS NOT NULL AND expires_at <= ? AND tenant_id = ?'),
    sweepEveryTenant: db.prepare('DELETE FROM oidc_models WHERE expires_at IS NOT NULL AND expires_at <= ?'),
    countLive: db.prepare<[string, string, number], { n: number }>(
      'SELECT COUNT(*) AS n FROM oidc_models WHERE tenant_id = ? AND model = ? AND (expires_at IS NULL OR expires_at > ?)',
    ),
  };
  const alive = (p: OidcPayload | undefined): p is OidcPayload => p !== undefined;
  return {
    forTenant: (tenant) => ({
      async upsert(model, id, payload, expiresIn) {
        q.upsert.run({
          tenant, model, id, payload: JSON.stringify(payload), grantId: grantOf(model, payload), userCode: payload.userCode ?? null,
          uid: payload.uid ?? null, accountId: typeof payload.accountId === 'string' ? payload.accountId : null,
          clientId: typeof payload.clientId === 'string' ? payload.clientId : null,
          expiresAt: expiresIn === undefined ? null : now() + expiresIn * 1000,
        });
      },
      find: async (model, id) => live(q.find.get(tenant, model, id)),
      findByUid: async (model, uid) => live(q.findByUid.get(tenant, model, uid)),
      findByUserCode: async (model, userCode) => live(q.findByUserCode.get(tenant, model, userCode)),
      consume: async (model, id) => q.consume.run(now(), tenant, model, id, now()).changes === 1,
      async destroy(model, id) {
        q.destroy.run(tenant, model, id);
      },
      async revokeByGrantId(grantId) {
        q.revokeByGrantId.run(tenant, grantId);
      },
      findByAccountId: async (model, accountId) => q.findByAccountId.all(tenant, accountId, model).map(live).filter(alive),
      findByClientId: async (model, clientId) => q.findByClientId.all(tenant, clientId, model).map(live).filter(alive),
      countLive: async (model) => q.countLive.get(tenant, model, now())?.n ?? 0,
      sweep: () => q.sweep.run(now(), tenant).changes,
    }),
    sweepEveryTenant: () => q.sweepEveryTenant.run(now()).changes,
  };
}
