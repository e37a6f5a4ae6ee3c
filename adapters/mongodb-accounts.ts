/**
 * MongoDB's part of AccountStore.list and delete: the filter of one page (the same rules as the SQL of
 * account-list.ts), and where an account's own documents are, since their layout differs from the rows
 * (an account's TOTP factor, recovery codes and password history are one document keyed by its id).
 */
import type { Db, Filter } from 'mongodb';
import type { AccountListQuery } from './contract.js';
import { decodeAccountCursor } from './account-list.js';
import { emailKey } from './record-schema.js';

const regexText = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

type Doc = { _id: string; createdAt: number };

export async function mongoAccountFilter(db: Db, q: AccountListQuery): Promise<Filter<Doc>> {
  const and: Filter<Doc>[] = [];
  if (q.cursor) {
    const c = decodeAccountCursor(q.cursor);
    and.push({ $or: [{ createdAt: { $gt: c.createdAt } }, { createdAt: c.createdAt, _id: { $gt: c.id } }] });
  }
  if (q.emailPrefix) and.push({ emailLower: { $regex: `^${regexText(emailKey(q.emailPrefix))}` } } as Filter<Doc>);
  if (q.name) and.push({ name: { $regex: regexText(q.name), $options: 'i' } } as Filter<Doc>);
  if (q.status === 'disabled') and.push({ disabledAt: { $type: 'number' } } as Filter<Doc>);
  if (q.status === 'active') and.push({ disabledAt: { $not: { $type: 'number' } } } as Filter<Doc>);
  if (q.role) {
    const granted = await db.collection<{ accountId: string }>('account_roles').distinct('accountId', { roles: q.role });
    and.push({ $or: [{ roles: q.role }, { _id: { $in: granted } }] } as Filter<Doc>);
  }
  const range = (field: string, from?: number, to?: number) => {
    if (from === undefined && to === undefined) return;
    and.push({ [field]: { ...(from !== undefined ? { $gte: from } : {}), ...(to !== undefined ? { $lt: to } : {}) } } as Filter<Doc>);
  };
  range('createdAt', q.createdAfter, q.createdBefore);
  range('lastLoginAt', q.lastLoginAfter, q.lastLoginBefore);
  return and.length ? { $and: and } : {};
}

/** Deletes every document that is only this account's (AccountStore.delete; record-schema.ts: ACCOUNT_OWNED_TABLES). */
export async function deleteMongoAccountDocuments(db: Db, accountId: string): Promise<void> {
  await Promise.all([
    db.collection<{ _id: string }>('totp_factors').deleteOne({ _id: accountId }),
    db.collection('webauthn_credentials').deleteMany({ accountId }),
    db.collection<{ _id: string }>('recovery_codes').deleteOne({ _id: accountId }),
    db.collection('federated_links').deleteMany({ accountId }),
    db.collection('account_roles').deleteMany({ accountId }),
    db.collection('account_tokens').deleteMany({ accountId }),
    db.collection('account_token_counters').deleteMany({ '_id.accountId': accountId }),
    db.collection<{ _id: string }>('password_history').deleteOne({ _id: accountId }),
  ]);
}
