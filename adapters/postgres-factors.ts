/**
 * Second factors in PostgreSQL (FactorStore). Each one-time check is one conditional UPDATE: row
 * locking lets exactly one of any number of concurrent callers match the condition it changes.
 */
import type pg from 'pg';
import type { FactorStore, TotpFactorRecord, WebAuthnCredentialRecord } from './contract.js';
import { insertSql, lockedTransaction, postgresMapper, storable, unique } from './postgres-sql.js';
import { TABLES } from './record-schema.js';
import type { Row } from './row-mapper.js';

const totp = postgresMapper<TotpFactorRecord>(TABLES.totpFactors);
const credentials = postgresMapper<WebAuthnCredentialRecord>(TABLES.webauthnCredentials);
const toCredential = credentials.fromRow;

export function postgresFactorStore(pool: pg.Pool): FactorStore {
  const rows = async <R extends pg.QueryResultRow>(text: string, values: unknown[]) => (await pool.query<R>(text, values)).rows;
  const changed = async (text: string, values: unknown[]) => ((await pool.query(text, values)).rowCount ?? 0) > 0;
  return {
    async findTotp(accountId) {
      const [r] = storable(accountId) ? await rows<Row>('SELECT * FROM totp_factors WHERE account_id = $1', [accountId]) : [];
      return r && totp.fromRow(r);
    },
    async saveTotp(f) {
      const row = totp.toRow(f);
      await pool.query(
        `${insertSql(TABLES.totpFactors, totp)}
         ON CONFLICT (account_id) DO UPDATE SET secret_ciphertext = excluded.secret_ciphertext, confirmed_at = excluded.confirmed_at,
           last_used_step = excluded.last_used_step, created_at = excluded.created_at`,
        totp.columns.map((c) => row[c]),
      );
    },
    // RFC 6238 §5.2: a verifier must not accept the second attempt of the same OTP
    useTotpStep: async (accountId, step) =>
      storable(accountId) &&
      changed(
        `UPDATE totp_factors SET last_used_step = $2
         WHERE account_id = $1 AND confirmed_at IS NOT NULL AND (last_used_step IS NULL OR last_used_step < $2)`,
        [accountId, step],
      ),
    confirmTotp: async (accountId, createdAt, confirmedAt, step) =>
      storable(accountId) &&
      changed(
        `UPDATE totp_factors SET confirmed_at = $3, last_used_step = $4
         WHERE account_id = $1 AND created_at = $2 AND confirmed_at IS NULL`,
        [accountId, createdAt, confirmedAt, step],
      ),
    async deleteTotp(accountId) {
      if (storable(accountId)) await pool.query('DELETE FROM totp_factors WHERE account_id = $1', [accountId]);
    },

    listWebAuthn: async (accountId) =>
      storable(accountId)
        ? (await rows<Row>('SELECT * FROM webauthn_credentials WHERE account_id = $1 ORDER BY created_at, id COLLATE "C"', [accountId])).map(toCredential)
        : [],
    async findWebAuthn(id) {
      // The credential ID comes from the browser's assertion: anything at all.
      const [r] = storable(id) ? await rows<Row>('SELECT * FROM webauthn_credentials WHERE id = $1', [id]) : [];
      return r && toCredential(r);
    },
    async createWebAuthn(c) {
      const row = credentials.toRow(c);
      await unique('credential', () => pool.query(insertSql(TABLES.webauthnCredentials, credentials), credentials.columns.map((col) => row[col])));
    },
    // WebAuthn §7.2 step 22: a counter that does not grow (when either side is non-zero) signals a cloned authenticator
    recordWebAuthnUse: async (id, counter, usedAt) =>
      storable(id) &&
      changed(
        `UPDATE webauthn_credentials SET counter = $2, last_used_at = $3
         WHERE id = $1 AND (($2 = 0 AND counter = 0) OR counter < $2)`,
        [id, counter, usedAt],
      ),
    deleteWebAuthn: async (accountId, id) =>
      storable(accountId) && storable(id) && changed('DELETE FROM webauthn_credentials WHERE account_id = $1 AND id = $2', [accountId, id]),

    async replaceRecoveryCodes(accountId, hashes, createdAt) {
      await lockedTransaction(pool, 'recovery_codes', accountId, async (client) => {
        await client.query('DELETE FROM recovery_codes WHERE account_id = $1', [accountId]);
        await client.query(
          `INSERT INTO recovery_codes (account_id, code_hash, used_at, created_at)
           SELECT $1, hash, NULL, $3 FROM unnest($2::text[]) AS hash ON CONFLICT DO NOTHING`,
          [accountId, hashes, createdAt],
        );
      });
    },
    useRecoveryCode: async (accountId, hash, usedAt) =>
      storable(accountId) && storable(hash) &&
      changed('UPDATE recovery_codes SET used_at = $3 WHERE account_id = $1 AND code_hash = $2 AND used_at IS NULL', [accountId, hash, usedAt]),
    countUnusedRecoveryCodes: async (accountId) =>
      storable(accountId)
        ? ((await rows<{ n: number }>('SELECT count(*)::integer AS n FROM recovery_codes WHERE account_id = $1 AND used_at IS NULL', [accountId]))[0]?.n ?? 0)
        : 0,
    async deleteRecoveryCodes(accountId) {
      if (storable(accountId)) await pool.query('DELETE FROM recovery_codes WHERE account_id = $1', [accountId]);
    },
  };
}
