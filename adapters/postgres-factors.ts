/**
 * Second factors in PostgreSQL (FactorStore). Each one-time check is one conditional UPDATE: row
 * locking lets exactly one of any number of concurrent callers match the condition it changes. Every
 * query is of the handle's tenant ($1).
 */
import type pg from 'pg';
import type { FactorStore, TotpFactorRecord, WebAuthnCredentialRecord } from './contract.js';
import { insertSql, insertValues, lockedTransaction, postgresMapper, storable, unique, type ForTenant } from './postgres-sql.js';
import { TABLES } from './record-schema.js';
import type { Row } from './row-mapper.js';

const totp = postgresMapper<TotpFactorRecord>(TABLES.totpFactors);
const credentials = postgresMapper<WebAuthnCredentialRecord>(TABLES.webauthnCredentials);
const toCredential = credentials.fromRow;

const SAVE_TOTP = `${insertSql(TABLES.totpFactors, totp)}
  ON CONFLICT (tenant_id, account_id) DO UPDATE SET secret_ciphertext = excluded.secret_ciphertext, confirmed_at = excluded.confirmed_at,
    last_used_step = excluded.last_used_step, created_at = excluded.created_at`;

export function postgresFactorStore(pool: pg.Pool): ForTenant<FactorStore> {
  const rows = async <R extends pg.QueryResultRow>(text: string, values: unknown[]) => (await pool.query<R>(text, values)).rows;
  const changed = async (text: string, values: unknown[]) => ((await pool.query(text, values)).rowCount ?? 0) > 0;
  return (tenant) => ({
    async findTotp(accountId) {
      const [r] = storable(accountId) ? await rows<Row>('SELECT * FROM totp_factors WHERE tenant_id = $1 AND account_id = $2', [tenant, accountId]) : [];
      return r && totp.fromRow(r);
    },
    async saveTotp(f) {
      await pool.query(SAVE_TOTP, insertValues(TABLES.totpFactors, totp, totp.toRow(f), tenant));
    },
    // RFC 6238 §5.2: a verifier must not accept the second attempt of the same OTP
    useTotpStep: async (accountId, step) =>
      storable(accountId) &&
      changed(
        `UPDATE totp_factors SET last_used_step = $3
         WHERE tenant_id = $1 AND account_id = $2 AND confirmed_at IS NOT NULL AND (last_used_step IS NULL OR last_used_step < $3)`,
        [tenant, accountId, step],
      ),
    confirmTotp: async (accountId, createdAt, confirmedAt, step) =>
      storable(accountId) &&
      changed(
        `UPDATE totp_factors SET confirmed_at = $4, last_used_step = $5
         WHERE tenant_id = $1 AND account_id = $2 AND created_at = $3 AND confirmed_at IS NULL`,
        [tenant, accountId, createdAt, confirmedAt, step],
      ),
    async deleteTotp(accountId) {
      if (storable(accountId)) await pool.query('DELETE FROM totp_factors WHERE tenant_id = $1 AND account_id = $2', [tenant, accountId]);
    },

    listWebAuthn: async (accountId) =>
      storable(accountId)
        ? (await rows<Row>('SELECT * FROM webauthn_credentials WHERE tenant_id = $1 AND account_id = $2 ORDER BY created_at, id COLLATE "C"', [tenant, accountId])).map(toCredential)
        : [],
    async findWebAuthn(id) {
      // The credential ID comes from the browser's assertion: anything at all.
      const [r] = storable(id) ? await rows<Row>('SELECT * FROM webauthn_credentials WHERE tenant_id = $1 AND id = $2', [tenant, id]) : [];
      return r && toCredential(r);
    },
    async createWebAuthn(c) {
      const values = insertValues(TABLES.webauthnCredentials, credentials, credentials.toRow(c), tenant);
      await unique('credential', () => pool.query(insertSql(TABLES.webauthnCredentials, credentials), values));
    },
    // WebAuthn §7.2 step 22: a counter that does not grow (when either side is non-zero) signals a cloned authenticator
    recordWebAuthnUse: async (id, counter, usedAt) =>
      storable(id) &&
      changed(
        `UPDATE webauthn_credentials SET counter = $3, last_used_at = $4
         WHERE tenant_id = $1 AND id = $2 AND (($3 = 0 AND counter = 0) OR counter < $3)`,
        [tenant, id, counter, usedAt],
      ),
    deleteWebAuthn: async (accountId, id) =>
      storable(accountId) && storable(id) &&
      changed('DELETE FROM webauthn_credentials WHERE tenant_id = $1 AND account_id = $2 AND id = $3', [tenant, accountId, id]),

    async replaceRecoveryCodes(accountId, hashes, createdAt) {
      await lockedTransaction(pool, tenant, 'recovery_codes', accountId, async (client) => {
        await client.query('DELETE FROM recovery_codes WHERE tenant_id = $1 AND account_id = $2', [tenant, accountId]);
        await client.query(
          `INSERT INTO recovery_codes (tenant_id, account_id, code_hash, used_at, created_at)
           SELECT $1, $2, hash, NULL, $4 FROM unnest($3::text[]) AS hash ON CONFLICT DO NOTHING`,
          [tenant, accountId, hashes, createdAt],
        );
      });
    },
    useRecoveryCode: async (accountId, hash, usedAt) =>
      storable(accountId) && storable(hash) &&
      changed('UPDATE recovery_codes SET used_at = $4 WHERE tenant_id = $1 AND account_id = $2 AND code_hash = $3 AND used_at IS NULL', [tenant, accountId, hash, usedAt]),
    countUnusedRecoveryCodes: async (accountId) =>
      storable(accountId)
        ? ((await rows<{ n: number }>(
          'SELECT count(*)::integer AS n FROM recovery_codes WHERE tenant_id = $1 AND account_id = $2 AND used_at IS NULL', [tenant, accountId],
        ))[0]?.n ?? 0)
        : 0,
    async deleteRecoveryCodes(accountId) {
      if (storable(accountId)) await pool.query('DELETE FROM recovery_codes WHERE tenant_id = $1 AND account_id = $2', [tenant, accountId]);
    },
  });
}
