/**
 * oidc-provider's artifacts (and our short-lived records) in PostgreSQL: OidcModelStore on oidc_models.
 * One-time use is a single conditional UPDATE (`WHERE consumed_at IS NULL ... RETURNING`): PostgreSQL
 * row locking makes exactly one of any number of concurrent callers see its row come back. Every query
 * is of the handle's tenant ($1); only the root's sweep reaches every tenant.
 */
import type pg from 'pg';
import { grantOf, type OidcModelStore, type OidcPayload } from './contract.js';
import { fromJsonb, toJsonb } from './postgres-jsonb.js';
import { storable, type ForTenant } from './postgres-sql.js';

type OidcRow = { payload: unknown; consumed_at: number | null };

const LIVE = '(expires_at IS NULL OR expires_at > $NOW)';
const live = (sql: string, nowParam: number) => sql.replace('$NOW', `$${nowParam}`);

const toPayload = (row: OidcRow | undefined): OidcPayload | undefined => {
  if (!row) return undefined;
  const payload = fromJsonb(row.payload) as OidcPayload;
  return row.consumed_at === null ? payload : { ...payload, consumed: Math.floor(row.consumed_at / 1000) };
};

export type PostgresOidcStores = {
  forTenant: ForTenant<OidcModelStore & { sweep(): Promise<number> }>;
  /** The root's sweep: the expired records of every tenant (the oidc_models_expires_at index, not led by the tenant). */
  sweepEveryTenant(): Promise<number>;
};

export function postgresOidcStore(pool: pg.Pool): PostgresOidcStores {
  const now = () => Date.now();
  const rows = async <R extends pg.QueryResultRow>(text: string, values: unknown[]) => (await pool.query<R>(text, values)).rows;
  const one = async <R extends pg.QueryResultRow>(text: string, values: unknown[]) => (await rows<R>(text, values))[0];
  const selectOidc = (where: string) =>
    live(`SELECT payload, consumed_at FROM oidc_models WHERE tenant_id = $1 AND model = $2 AND ${where} = $3 AND ${LIVE}`, 4);
  return {
    forTenant: (tenant) => ({
      async upsert(model, id, payload, expiresIn) {
        await pool.query(
          `INSERT INTO oidc_models (tenant_id, model, id, payload, grant_id, user_code, uid, account_id, client_id, expires_at, consumed_at)
           VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, $9, $10, NULL)
           ON CONFLICT (tenant_id, model, id) DO UPDATE SET payload = excluded.payload, grant_id = excluded.grant_id,
             user_code = excluded.user_code, uid = excluded.uid, account_id = excluded.account_id, client_id = excluded.client_id,
             expires_at = excluded.expires_at`,
          [tenant, model, id, toJsonb(payload), grantOf(model, payload), payload.userCode ?? null, payload.uid ?? null,
            typeof payload.accountId === 'string' ? payload.accountId : null,
            typeof payload.clientId === 'string' ? payload.clientId : null, expiresIn === undefined ? null : now() + expiresIn * 1000],
        );
      },
      find: async (model, id) => (storable(id) ? toPayload(await one<OidcRow>(selectOidc('id'), [tenant, model, id, now()])) : undefined),
      findByUid: async (model, uid) => (storable(uid) ? toPayload(await one<OidcRow>(selectOidc('uid'), [tenant, model, uid, now()])) : undefined),
      findByUserCode: async (model, code) =>
        storable(code) ? toPayload(await one<OidcRow>(selectOidc('user_code'), [tenant, model, code, now()])) : undefined,
      async consume(model, id) {
        if (!storable(id)) return false;
        const won = await rows(
          live(`UPDATE oidc_models SET consumed_at = $4 WHERE tenant_id = $1 AND model = $2 AND id = $3 AND consumed_at IS NULL AND ${LIVE} RETURNING 1`, 4),
          [tenant, model, id, now()],
        );
        return won.length === 1;
      },
      async destroy(model, id) {
        if (storable(id)) await pool.query('DELETE FROM oidc_models WHERE tenant_id = $1 AND model = $2 AND id = $3', [tenant, model, id]);
      },
      async revokeByGrantId(grantId) {
        if (storable(grantId)) await pool.query('DELETE FROM oidc_models WHERE tenant_id = $1 AND grant_id = $2', [tenant, grantId]);
      },
      findByAccountId: async (model, accountId) =>
        storable(accountId)
          ? (await rows<OidcRow>(`${selectOidc('account_id')} ORDER BY expires_at NULLS LAST, id COLLATE "C"`, [tenant, model, accountId, now()]))
            .map((r) => toPayload(r) as OidcPayload)
          : [],
      findByClientId: async (model, clientId) =>
        storable(clientId)
          ? (await rows<OidcRow>(`${selectOidc('client_id')} ORDER BY expires_at NULLS LAST, id COLLATE "C"`, [tenant, model, clientId, now()]))
            .map((r) => toPayload(r) as OidcPayload)
          : [],
      async countLive(model) {
        // COUNT(*) is bigint, which pg returns as a string
        const row = await one<{ n: string }>(live(`SELECT COUNT(*) AS n FROM oidc_models WHERE tenant_id = $1 AND model = $2 AND ${LIVE}`, 3), [tenant, model, now()]);
        return Number(row?.n ?? 0);
      },
      sweep: async () =>
        (await pool.query('DELETE FROM oidc_models WHERE expires_at IS NOT NULL AND expires_at <= $1 AND tenant_id = $2', [now(), tenant])).rowCount ?? 0,
    }),
    sweepEveryTenant: async () => (await pool.query('DELETE FROM oidc_models WHERE expires_at IS NOT NULL AND expires_at <= $1', [now()])).rowCount ?? 0,
  };
}
