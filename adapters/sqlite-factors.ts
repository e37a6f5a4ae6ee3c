/**
 * Second factors in SQLite (FactorStore). Each one-time check is one conditional UPDATE, atomic because
 * better-sqlite3 runs one statement at a time and SQLite locks the file across processes.
 */
import type Database from 'better-sqlite3';
import type { FactorStore, TotpFactorRecord, WebAuthnCredentialRecord } from './contract.js';
import { TABLES } from './record-schema.js';
import type { Row } from './row-mapper.js';
import { insertSql, sqliteMapper, unique } from './sqlite-sql.js';

const totp = sqliteMapper<TotpFactorRecord>(TABLES.totpFactors);
const webauthn = sqliteMapper<WebAuthnCredentialRecord>(TABLES.webauthnCredentials);

export function sqliteFactorStore(db: Database.Database): FactorStore {
  const q = {
    totpFind: db.prepare<[string], Row>('SELECT * FROM totp_factors WHERE account_id = ?'),
    totpSave: db.prepare(
      `${insertSql(TABLES.totpFactors, totp)}
       ON CONFLICT (account_id) DO UPDATE SET secret_ciphertext = excluded.secret_ciphertext, confirmed_at = excluded.confirmed_at,
         last_used_step = excluded.last_used_step, created_at = excluded.created_at`,
    ),
    totpUseStep: db.prepare(
      `UPDATE totp_factors SET last_used_step = @step
       WHERE account_id = @accountId AND confirmed_at IS NOT NULL AND (last_used_step IS NULL OR last_used_step < @step)`,
    ),
    totpConfirm: db.prepare(
      `UPDATE totp_factors SET confirmed_at = @confirmedAt, last_used_step = @step
       WHERE account_id = @accountId AND created_at = @createdAt AND confirmed_at IS NULL`,
    ),
    totpDelete: db.prepare('DELETE FROM totp_factors WHERE account_id = ?'),
    webauthnList: db.prepare<[string], Row>('SELECT * FROM webauthn_credentials WHERE account_id = ? ORDER BY created_at, id'),
    webauthnFind: db.prepare<[string], Row>('SELECT * FROM webauthn_credentials WHERE id = ?'),
    webauthnInsert: db.prepare(insertSql(TABLES.webauthnCredentials, webauthn)),
    // WebAuthn §7.2 step 22: a counter that does not grow (when either side is non-zero) signals a cloned authenticator
    webauthnUse: db.prepare(
      `UPDATE webauthn_credentials SET counter = @counter, last_used_at = @usedAt
       WHERE id = @id AND ((@counter = 0 AND counter = 0) OR counter < @counter)`,
    ),
    webauthnDelete: db.prepare('DELETE FROM webauthn_credentials WHERE account_id = ? AND id = ?'),
    recoveryDelete: db.prepare('DELETE FROM recovery_codes WHERE account_id = ?'),
    recoveryInsert: db.prepare('INSERT INTO recovery_codes (account_id, code_hash, used_at, created_at) VALUES (?, ?, NULL, ?)'),
    recoveryUse: db.prepare('UPDATE recovery_codes SET used_at = ? WHERE account_id = ? AND code_hash = ? AND used_at IS NULL'),
    recoveryCount: db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM recovery_codes WHERE account_id = ? AND used_at IS NULL'),
  };
  const replaceCodes = db.transaction((accountId: string, hashes: string[], createdAt: number) => {
    q.recoveryDelete.run(accountId);
    for (const hash of hashes) q.recoveryInsert.run(accountId, hash, createdAt);
  });
  return {
    async findTotp(accountId) {
      const r = q.totpFind.get(accountId);
      return r && totp.fromRow(r);
    },
    async saveTotp(f) {
      q.totpSave.run(totp.toRow(f));
    },
    useTotpStep: async (accountId, step) => q.totpUseStep.run({ accountId, step }).changes === 1,
    confirmTotp: async (accountId, createdAt, confirmedAt, step) => q.totpConfirm.run({ accountId, createdAt, confirmedAt, step }).changes === 1,
    async deleteTotp(accountId) {
      q.totpDelete.run(accountId);
    },
    listWebAuthn: async (accountId) => q.webauthnList.all(accountId).map(webauthn.fromRow),
    async findWebAuthn(id) {
      const r = q.webauthnFind.get(id);
      return r && webauthn.fromRow(r);
    },
    async createWebAuthn(c) {
      unique('credential', () => q.webauthnInsert.run(webauthn.toRow(c)));
    },
    recordWebAuthnUse: async (id, counter, usedAt) => q.webauthnUse.run({ id, counter, usedAt }).changes === 1,
    deleteWebAuthn: async (accountId, id) => q.webauthnDelete.run(accountId, id).changes === 1,
    async replaceRecoveryCodes(accountId, hashes, createdAt) {
      replaceCodes.immediate(accountId, hashes, createdAt);
    },
    useRecoveryCode: async (accountId, hash, usedAt) => q.recoveryUse.run(usedAt, accountId, hash).changes === 1,
    countUnusedRecoveryCodes: async (accountId) => q.recoveryCount.get(accountId)?.n ?? 0,
    async deleteRecoveryCodes(accountId) {
      q.recoveryDelete.run(accountId);
    },
  };
}
