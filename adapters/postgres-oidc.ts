/**
 * oidc-provider's artifacts (and our short-lived records) in PostgreSQL: OidcModelStore on oidc_models.
 * One-time use is a single conditional UPDATE (`WHERE consumed_at IS NULL ... RETURNING`): PostgreSQL
 * row locking makes exactly one of any number of concurrent callers see its row come back.
 */
import type pg from 'pg';
import { grantOf, type OidcModelStore, type OidcPayload } from './contract.js';
import { fromJsonb, toJsonb } from './postgres-jsonb.js';
import { storable } from './postgres-sql.js';

type OidcRow = { payload: unknown; consumed_at: number | null };

const LIVE = '(expires_at IS NULL OR expires_at > $NOW)';
const live = (sql: string, nowParam: number) => sql.replace('$NOW', `$${nowParam}`);

const toPayload = (row: OidcRow | undefined): OidcPayload | undefined => {
  if (!row) return undefined;
  const payload = fromJsonb(row.payload) as OidcPayload;
  return row.consumed_at === null ? payload : { ...payload, consumed: Math.floor(row.consumed_at / 1000) };
};

export function postgresOidcStore(pool: pg.Pool): OidcModelStore {
  const now = () => Date.now();
  const rows = async <R extends pg.QueryResultRow>(text: string, values: unknown[]) => (await pool.query<R>(text, values)).rows;
  const one = async <R extends pg.QueryResultRow>(text: string, values: unknown[]) => (await rows<R>(text, values))[0];
  const selectOidc = (where: string) =>
    live(`SELECT payload, consumed_at FROM oidc_models WHERE model = $1 AND ${where} = $2 AND ${LIVE}`, 3);
  return {
    async upsert(model, id, payload, expiresIn) {
      await pool.query(
        `INSERT INTO oidc_models (model, id, payload, grant_id, user_code, uid, account_id, client_id, expires_at, consumed_at)
         VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7, $8, $9, NULL)
         ON CONFLICT (model, id) DO UPDATE SET payload = excluded.payload, grant_id = excluded.grant_id,
           user_code = excluded.user_code, uid = excluded.uid, account_id = excluded.account_id, client_id = excluded.client_id,
           expires_at = excluded.expires_at`,
        [model, id, toJsonb(payload), grantOf(model, payload), payload.userCode ?? null, payload.uid ?? null,
          typeof payload.accountId === 'string' ? payload.accountId : null,
          typeof payload.clientId === 'string' ? payload.clientId : null, expiresIn === undefined ? null : now() + expiresIn * 1000],
      );
    },
    find: async (model, id) => (storable(id) ? toPayload(await one<OidcRow>(selectOidc('id'), [model, id, now()])) : undefined),
    findByUid: async (model, uid) => (storable(uid) ? toPayload(await one<OidcRow>(selectOidc('uid'), [model, uid, now()])) : undefined),
    findByUserCode: async (model, code) =>
      storable(code) ? toPayload(await one<OidcRow>(selectOidc('user_code'), [model, code, now()])) : undefined,
    async consume(model, id) {
      if (!storable(id)) return false;
      const t = now();
      const won = await rows(
        live(`UPDATE oidc_models SET consumed_at = $3 WHERE model = $1 AND id = $2 AND consumed_at IS NULL AND ${LIVE} RETURNING 1`, 3),
        [model, id, t],
      );
      return won.length === 1;
    },
    async destroy(model, id) {
      if (storable(id)) await pool.query('DELETE FROM oidc_models WHERE model = $1 AND id = $2', [model, id]);
    },
    async revokeByGrantId(grantId) {
      if (storable(grantId)) await pool.query('DELETE FROM oidc_models WHERE grant_id = $1', [grantId]);
    },
    findByAccountId: async (model, accountId) =>
      storable(accountId)
        ? (await rows<OidcRow>(`${selectOidc('account_id')} ORDER BY expires_at NULLS LAST, id COLLATE "C"`, [model, accountId, now()]))
          .map((r) => toPayload(r) as OidcPayload)
        : [],
    findByClientId: async (model, clientId) =>
      storable(clientId)
        ? (await rows<OidcRow>(`${selectOidc('client_id')} ORDER BY expires_at NULLS LAST, id COLLATE "C"`, [model, clientId, now()]))
          .map((r) => toPayload(r) as OidcPayload)
        : [],
    async countLive(model) {
      // COUNT(*) is bigint, which pg returns as a string
      const row = await one<{ n: string }>(live(`SELECT COUNT(*) AS n FROM oidc_models WHERE model = $1 AND ${LIVE}`, 2), [model, now()]);
      return Number(row?.n ?? 0);
    },
  };
}
