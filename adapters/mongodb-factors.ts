/**
 * Second factors in MongoDB (FactorStore). Every one-time check is one conditional update of one
 * document; single-document writes are atomic, so exactly one concurrent caller matches the filter.
 * An account's recovery codes are one document, so replacing them all is atomic too (no multi-document
 * transaction, which would need a replica set).
 */
import type { Collection, Db } from 'mongodb';
import type { FactorStore, TotpFactorRecord, WebAuthnCredentialRecord } from './contract.js';
import { unique } from './mongodb-errors.js';

type TotpDoc = Omit<TotpFactorRecord, 'accountId'> & { _id: string };
type WebAuthnDoc = Omit<WebAuthnCredentialRecord, 'id'> & { _id: string };
type RecoveryDoc = { _id: string; codes: { hash: string; usedAt: number | null }[]; createdAt: number };

export function mongoFactorStore(db: Db): FactorStore {
  const totp: Collection<TotpDoc> = db.collection('totp_factors');
  const webauthn: Collection<WebAuthnDoc> = db.collection('webauthn_credentials');
  const recovery: Collection<RecoveryDoc> = db.collection('recovery_codes');
  const toCredential = ({ _id, ...c }: WebAuthnDoc): WebAuthnCredentialRecord => ({ id: _id, ...c });
  return {
    async findTotp(accountId) {
      const doc = await totp.findOne({ _id: accountId });
      if (!doc) return undefined;
      const { _id, ...rest } = doc;
      return { accountId: _id, ...rest };
    },
    async saveTotp({ accountId, ...rest }) {
      await totp.replaceOne({ _id: accountId }, rest, { upsert: true });
    },
    // RFC 6238 §5.2: a verifier must not accept the second attempt of the same OTP
    useTotpStep: async (accountId, step) =>
      (await totp.updateOne(
        { _id: accountId, confirmedAt: { $ne: null }, $or: [{ lastUsedStep: null }, { lastUsedStep: { $lt: step } }] },
        { $set: { lastUsedStep: step } },
      )).modifiedCount === 1,
    confirmTotp: async (accountId, createdAt, confirmedAt, step) =>
      (await totp.updateOne({ _id: accountId, createdAt, confirmedAt: null }, { $set: { confirmedAt, lastUsedStep: step } })).modifiedCount === 1,
    async deleteTotp(accountId) {
      await totp.deleteOne({ _id: accountId });
    },

    listWebAuthn: async (accountId) => (await webauthn.find({ accountId }).sort({ createdAt: 1, _id: 1 }).toArray()).map(toCredential),
    async findWebAuthn(id) {
      const doc = await webauthn.findOne({ _id: id });
      return doc ? toCredential(doc) : undefined;
    },
    async createWebAuthn({ id, ...rest }) {
      await unique('credential', () => webauthn.insertOne({ _id: id, ...rest }));
    },
    // WebAuthn §7.2 step 22: a counter that does not grow (when either side is non-zero) signals a cloned authenticator
    recordWebAuthnUse: async (id, counter, usedAt) =>
      (await webauthn.updateOne(
        { _id: id, $or: [{ counter: { $lt: counter } }, ...(counter === 0 ? [{ counter: 0 }] : [])] },
        { $set: { counter, lastUsedAt: usedAt } },
      )).matchedCount === 1,
    deleteWebAuthn: async (accountId, id) => (await webauthn.deleteOne({ _id: id, accountId })).deletedCount === 1,

    async replaceRecoveryCodes(accountId, hashes, createdAt) {
      const codes = [...new Set(hashes)].map((hash) => ({ hash, usedAt: null }));
      await recovery.replaceOne({ _id: accountId }, { codes, createdAt }, { upsert: true });
    },
    useRecoveryCode: async (accountId, hash, usedAt) =>
      (await recovery.updateOne(
        { _id: accountId, codes: { $elemMatch: { hash, usedAt: null } } },
        { $set: { 'codes.$[code].usedAt': usedAt } },
        { arrayFilters: [{ 'code.hash': hash, 'code.usedAt': null }] },
      )).modifiedCount === 1,
    async countUnusedRecoveryCodes(accountId) {
      const doc = await recovery.findOne({ _id: accountId });
      return doc?.codes.filter((c) => c.usedAt === null).length ?? 0;
    },
    async deleteRecoveryCodes(accountId) {
      await recovery.deleteOne({ _id: accountId });
    },
  };
}
