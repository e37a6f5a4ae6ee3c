/**
 * Store.tryLock on MongoDB: an upsert that matches only a free (expired) or own lock. When another
 * replica holds it, the filter matches nothing and the upsert tries to insert a second document with the
 * same _id, which fails with a duplicate key: the lock is taken.
 */
import { MongoServerError, type Db } from 'mongodb';

type LockDocument = { _id: string; owner: string; expiresAt: number };

export async function mongoTryLock(db: Db, name: string, ttlSeconds: number, owner: string): Promise<boolean> {
  const t = Date.now();
  try {
    await db.collection<LockDocument>('store_locks').updateOne(
      { _id: name, $or: [{ expiresAt: { $lte: t } }, { owner }] },
      { $set: { owner, expiresAt: t + ttlSeconds * 1000 } },
      { upsert: true },
    );
    return true;
  } catch (err) {
    if (err instanceof MongoServerError && err.code === 11000) return false;
    throw err;
  }
}
