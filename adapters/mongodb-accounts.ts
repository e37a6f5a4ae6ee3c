/**
 * MongoDB's part of AccountStore.list and delete: the filter of one page (the same rules as the SQL of
 * account-list.ts), and where an account's own documents are, since their layout differs from the rows
 * (an account's TOTP factor, recovery codes and password history are one document keyed by its id).
 */
import type { Db, Filter } from 'mongodb';
import type { AccountListQuery } from './contract.js';
import { decodeAccountCursor } from './account-list.js';
import type { MongoTenant, TenantKey } from './mongodb-tenancy.js';
import { emailKey } from './record-schema.js';

const regexText = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

type Doc = { _id: TenantKey; tenantId: string; createdAt: number };

export async function mongoAccountFilter(db: Db, tn: MongoTenant, q: AccountListQuery): Promise<Filter<Doc>> {
  const and: Filter<Doc>[] = [tn.scope];
  if (q.cursor) {
    const c = decodeAccountCursor(q.cursor);
    and.push({ $or: [{ createdAt: { $gt: c.createdAt } }, { createdAt: c.createdAt, _id: { $gt: tn.key(c.id) } }] });
  }
  if (q.emailPrefix) and.push({ emailLower: { $regex: `^${regexText(emailKey(q.emailPrefix))}` } } as Filter<Doc>);
  if (q.name) and.push({ name: { $regex: regexText(q.name), $options: 'i' } } as Filter<Doc>);
  if (q.status === 'disabled') and.push({ disabledAt: { $type: 'number' } } as Filter<Doc>);
  if (q.status === 'active') and.push({ disabledAt: { $not: { $type: 'number' } } } as Filter<Doc>);
  if (q.role) {
    const granted = await db.collection<{ accountId: string; tenantId: string }>('account_roles').distinct('accountId', { ...tn.scope, roles: q.role });
    and.push({ $or: [{ roles: q.role }, { _id: { $in: granted.map((id) => tn.key(id)) } }] } as Filter<Doc>);
  }
  const range = (field: string, from?: number, to?: number) => {
    if (from === undefined && to === undefined) return;
    and.push({ [field]: { ...(from !== undefined ? { $gte: from } : {}), ...(to !== undefined ? { $lt: to } : {}) } } as Filter<Doc>);
  };
  range('createdAt', q.createdAfter, q.createdBefore);
  range('lastLoginAt', q.lastLoginAfter, q.lastLoginBefore);
  return { $and: and };
}

/** Deletes every document that is only this account's (AccountStore.delete; record-schema.ts: ACCOUNT_OWNED_TABLES). */
export async function deleteMongoAccountDocuments(db: Db, tn: MongoTenant, accountId: string): Promise<void> {
  const { scope } = tn;
  const byId = { _id: tn.key(accountId), ...scope };
  await Promise.all([
    db.collection<{ _id: TenantKey }>('totp_factors').deleteOne(byId),
    db.collection('webauthn_credentials').deleteMany({ ...scope, accountId }),
    db.collection<{ _id: TenantKey }>('recovery_codes').deleteOne(byId),
    db.collection('federated_links').deleteMany({ ...scope, accountId }),
    db.collection('account_roles').deleteMany({ ...scope, accountId }),
    db.collection('account_tokens').deleteMany({ ...scope, accountId }),
    db.collection('account_token_counters').deleteMany({ ...scope, [tn.idPath('accountId')]: accountId }),
    db.collection<{ _id: TenantKey }>('password_history').deleteOne(byId),
  ]);
}
