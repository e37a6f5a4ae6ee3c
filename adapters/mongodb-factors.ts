/**
 * Second factors in MongoDB (FactorStore). Every one-time check is one conditional update of one
 * document; single-document writes are atomic, so exactly one concurrent caller matches the filter.
 * An account's recovery codes are one document, so replacing them all is atomic too (no multi-document
 * transaction, which would need a replica set).
 */
import type { Collection, Db } from 'mongodb';
import type { FactorStore, TotpFactorRecord, WebAuthnCredentialRecord } from './contract.js';
import { unique } from './mongodb-errors.js';
import type { MongoTenant, TenantKey } from './mongodb-tenancy.js';

type TotpDoc = Omit<TotpFactorRecord, 'accountId'> & { _id: TenantKey; tenantId: string };
type WebAuthnDoc = Omit<WebAuthnCredentialRecord, 'id'> & { _id: TenantKey; tenantId: string };
type RecoveryDoc = { _id: TenantKey; tenantId: string; codes: { hash: string; usedAt: number | null }[]; createdAt: number };

export function mongoFactorStore(db: Db, tn: MongoTenant): FactorStore {
  const { scope } = tn;
  /** the filter of the document whose own id is `id` */
  const byId = (id: string) => ({ _id: tn.key(id), ...scope });
  const totp: Collection<TotpDoc> = db.collection('totp_factors');
  const webauthn: Collection<WebAuthnDoc> = db.collection('webauthn_credentials');
  const recovery: Collection<RecoveryDoc> = db.collection('recovery_codes');
  const toCredential = ({ _id, tenantId: _t, ...c }: WebAuthnDoc): WebAuthnCredentialRecord => ({ id: tn.idOf(_id), ...c });
  return {
    async findTotp(accountId) {
      const doc = await totp.findOne(byId(accountId));
      if (!doc) return undefined;
      const { _id, tenantId: _t, ...rest } = doc;
      return { accountId: tn.idOf(_id), ...rest };
    },
    async saveTotp({ accountId, ...rest }) {
      await totp.replaceOne(byId(accountId), { ...scope, ...rest }, { upsert: true });
    },
    // RFC 6238 §5.2: a verifier must not accept the second attempt of the same OTP
    useTotpStep: async (accountId, step) =>
      (await totp.updateOne(
        { ...byId(accountId), confirmedAt: { $ne: null }, $or: [{ lastUsedStep: null }, { lastUsedStep: { $lt: step } }] },
        { $set: { lastUsedStep: step } },
      )).modifiedCount === 1,
    confirmTotp: async (accountId, createdAt, confirmedAt, step) =>
      (await totp.updateOne({ ...byId(accountId), createdAt, confirmedAt: null }, { $set: { confirmedAt, lastUsedStep: step } })).modifiedCount === 1,
    async deleteTotp(accountId) {
      await totp.deleteOne(byId(accountId));
    },

    listWebAuthn: async (accountId) => (await webauthn.find({ ...scope, accountId }).sort({ createdAt: 1, _id: 1 }).toArray()).map(toCredential),
    async findWebAuthn(id) {
      const doc = await webauthn.findOne(byId(id));
      return doc ? toCredential(doc) : undefined;
    },
    async createWebAuthn({ id, ...rest }) {
      await unique('credential', () => webauthn.insertOne({ ...byId(id), ...rest }));
    },
    // WebAuthn §7.2 step 22: a counter that does not grow (when either side is non-zero) signals a cloned authenticator
    recordWebAuthnUse: async (id, counter, usedAt) =>
      (await webauthn.updateOne(
        { ...byId(id), $or: [{ counter: { $lt: counter } }, ...(counter === 0 ? [{ counter: 0 }] : [])] },
        { $set: { counter, lastUsedAt: usedAt } },
      )).matchedCount === 1,
    deleteWebAuthn: async (accountId, id) => (await webauthn.deleteOne({ ...byId(id), accountId })).deletedCount === 1,

    async replaceRecoveryCodes(accountId, hashes, createdAt) {
      const codes = [...new Set(hashes)].map((hash) => ({ hash, usedAt: null }));
      await recovery.replaceOne(byId(accountId), { ...scope, codes, createdAt }, { upsert: true });
    },
    useRecoveryCode: async (accountId, hash, usedAt) =>
      (await recovery.updateOne(
        { ...byId(accountId), codes: { $elemMatch: { hash, usedAt: null } } },
        { $set: { 'codes.$[code].usedAt': usedAt } },
        { arrayFilters: [{ 'code.hash': hash, 'code.usedAt': null }] },
      )).modifiedCount === 1,
    async countUnusedRecoveryCodes(accountId) {
      const doc = await recovery.findOne(byId(accountId));
      return doc?.codes.filter((c) => c.usedAt === null).length ?? 0;
    },
    async deleteRecoveryCodes(accountId) {
      await recovery.deleteOne(byId(accountId));
    },
  };
}
