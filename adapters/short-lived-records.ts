/**
 * ShortLivedRecordStore on an OidcModelStore: a record is kept like an oidc-provider artifact of the
 * model named by its kind (one table, or one Redis layout, for every short-lived thing), but only the
 * kinds of SHORT_LIVED_RECORDS go through here, and never without an expiry.
 */
import { SHORT_LIVED_RECORDS, type OidcModelStore, type ShortLivedRecordKind, type ShortLivedRecordStore } from './contract.js';

export const SHORT_LIVED_RECORD_KINDS: ReadonlySet<string> = new Set(Object.keys(SHORT_LIVED_RECORDS));

export function shortLivedRecords(oidc: Pick<OidcModelStore, 'upsert' | 'find' | 'consume'>): ShortLivedRecordStore {
  const known = (kind: ShortLivedRecordKind) => {
    if (!SHORT_LIVED_RECORD_KINDS.has(kind)) throw new Error(`not a short-lived record kind: ${String(kind)}`);
    return kind;
  };
  return {
    async upsert(kind, id, record, ttlSeconds) {
      if (!(Number.isFinite(ttlSeconds) && ttlSeconds > 0)) throw new Error(`${kind}: a short-lived record needs a TTL above 0 s, not ${ttlSeconds}`);
      await oidc.upsert(known(kind), id, record, ttlSeconds);
    },
    find: async (kind, id) => oidc.find(known(kind), id),
    consume: async (kind, id) => oidc.consume(known(kind), id),
  };
}
