/** Duplicate-key handling shared by the MongoDB store's files. */
import { MongoServerError } from 'mongodb';
import { DuplicateError } from './contract.js';

const isDuplicateKey = (err: unknown) => err instanceof MongoServerError && err.code === 11000;

export async function unique<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isDuplicateKey(err)) throw new DuplicateError(what);
    throw err;
  }
}

/**
 * Two concurrent upserts of a new _id can both try the insert; the loser gets E11000 (MongoDB retries
 * this itself only in some cases). Once the document exists, the retry is a plain update.
 */
export async function retryDuplicateUpsert<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (!isDuplicateKey(err)) throw err;
    return fn();
  }
}
