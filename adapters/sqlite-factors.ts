/**
 * Second factors in SQLite (FactorStore). Each one-time check is one conditional UPDATE, atomic because
 * better-sqlite3 runs one statement at a time and SQLite locks the file across processes.
 */
import type Database from 'better-sqlite3';
import type { FactorStore, TotpFactorRecord, WebAuthnCredentialRecord } from './contract.js';
import { TABLES } from './record-schema.js';
import type { Row } from './row-mapper.js';
import { insertSql, sqliteMapper, tenantRow, unique, type ForTenant } from './sqlite-sql.js';

const totp = sqliteMapper<TotpFactorRecord>(TABLES.totpFactors);
const webauthn = sqliteMapper<WebAuthnCredentialRecord>(TABLES.webauthnCredentials);

export function sqliteFactorStore(db: Database.Database): ForTenant<FactorStore> {
  const q = {
    totpFind: db.prepare<[string, string], Row>('SELECT * FROM totp_factors WHERE tenant_id = ? AND account_id = ?'),
    totpSave: db.prepare(
      `${insertSql(TABLES.totpFactors, totp)}
       ON CONFLICT (tenant_id, account_id) DO UPDATE SET secret_ciphertext = excluded.secret_ciphertext, confirmed_at = excluded.confirmed_at,
         last_used_step = excluded.last_used_step, created_at = excluded.created_at`,
    ),
    totpUseStep: db.prepare(
      `UPDATE totp_factors SET last_used_step = @step
       WHERE tenant_id = @tenant AND account_id = @accountId AND confirmed_at IS NOT NULL AND (last_used_step IS NULL OR last_used_step < @step)`,
    ),
    totpConfirm: db.prepare(
      `UPDATE totp_factors SET confirmed_at = @confirmedAt, last_used_step = @step
       WHERE tenant_id = @tenant AND account_id = @accountId AND created_at = @createdAt AND confirmed_at IS NULL`,
    ),
    totpDelete: db.prepare('DELETE FROM totp_factors WHERE tenant_id = ? AND account_id = ?'),
    webauthnList: db.prepare<[string, string], Row>('SELECT * FROM webauthn_credentials WHERE tenant_id = ? AND account_id = ? ORDER BY created_at, id'),
    webauthnFind: db.prepare<[string, string], Row>('SELECT * FROM webauthn_credentials WHERE tenant_id = ? AND id = ?'),
    webauthnInsert: db.prepare(insertSql(TABLES.webauthnCredentials, webauthn)),
    // WebAuthn §7.2 step 22: a counter that does not grow (when either side is non-zero) signals a cloned authenticator
    webauthnUse: db.prepare(
      `UPDATE webauthn_credentials SET counter = @counter, last_used_at = @usedAt
       WHERE tenant_id = @tenant AND id = @id AND ((@counter = 0 AND counter = 0) OR counter < @counter)`,
    ),
    webauthnDelete: db.prepare('DELETE FROM webauthn_credentials WHERE tenant_id = ? AND account_id = ? AND id = ?'),
    recoveryDelete: db.prepare('DELETE FROM recovery_codes WHERE tenant_id = ? AND account_id = ?'),
    recoveryInsert: db.prepare('INSERT INTO recovery_codes (tenant_id, account_id, code_hash, used_at, created_at) VALUES (?, ?, ?, NULL, ?)'),
    recoveryUse: db.prepare('UPDATE recovery_codes SET used_at = ? WHERE tenant_id = ? AND account_id = ? AND code_hash = ? AND used_at IS NULL'),
    recoveryCount: db.prepare<[string, string], { n: number }>(
      'SELECT COUNT(*) AS n FROM recovery_codes WHERE tenant_id = ? AND account_id = ? AND used_at IS NULL',
    ),
  };
  const replaceCodes = db.transaction((tenant: string, accountId: string, hashes: string[], createdAt: number) => {
    q.recoveryDelete.run(tenant, accountId);
    for (const hash of hashes) q.recoveryInsert.run(tenant, accountId, hash, createdAt);
  });
  return (tenant) => ({
    async findTotp(accountId) {
      const r = q.totpFind.get(tenant, accountId);
      return r && totp.fromRow(r);
    },
    async saveTotp(f) {
      q.totpSave.run(tenantRow(totp.toRow(f), tenant));
    },
    useTotpStep: async (accountId, step) => q.totpUseStep.run({ tenant, accountId, step }).changes === 1,
    confirmTotp: async (accountId, createdAt, confirmedAt, step) => q.totpConfirm.run({ tenant, accountId, createdAt, confirmedAt, step }).changes === 1,
    async deleteTotp(accountId) {
      q.totpDelete.run(tenant, accountId);
    },
    listWebAuthn: async (accountId) => q.webauthnList.all(tenant, accountId).map(webauthn.fromRow),
    async findWebAuthn(id) {
      const r = q.webauthnFind.get(tenant, id);
      return r && webauthn.fromRow(r);
    },
    async createWebAuthn(c) {
      unique('credential', () => q.webauthnInsert.run(tenantRow(webauthn.toRow(c), tenant)));
    },
    recordWebAuthnUse: async (id, counter, usedAt) => q.webauthnUse.run({ tenant, id, counter, usedAt }).changes === 1,
    deleteWebAuthn: async (accountId, id) => q.webauthnDelete.run(tenant, accountId, id).changes === 1,
    async replaceRecoveryCodes(accountId, hashes, createdAt) {
      replaceCodes.immediate(tenant, accountId, hashes, createdAt);
    },
    useRecoveryCode: async (accountId, hash, usedAt) => q.recoveryUse.run(usedAt, tenant, accountId, hash).changes === 1,
    countUnusedRecoveryCodes: async (accountId) => q.recoveryCount.get(tenant, accountId)?.n ?? 0,
    async deleteRecoveryCodes(accountId) {
      q.recoveryDelete.run(tenant, accountId);
    },
  });
}
