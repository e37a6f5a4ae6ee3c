/**
 * MongoDB: no server can be installed on the development machines, so this runs against the server named
 * by MONGODB_URI (e.g. MONGODB_URI=mongodb://127.0.0.1:27017) when it is set, each run in a database of
 * its own that is dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { openMongoStore } from '../../adapters/mongodb.js';
import { describeStoreContract } from './store-contract.js';

const MONGODB_URI = process.env.MONGODB_URI ?? '';

/** The same server, another database: the path of a mongodb:// URL names the database. */
function withDatabase(uri: string, database: string): string {
  const m = /^(mongodb(?:\+srv)?:\/\/[^/?#]*)(?:\/[^?#]*)?(\?[^#]*)?$/i.exec(uri);
  if (!m) throw new Error('MONGODB_URI: expected mongodb://host[:port][/db][?options] or mongodb+srv://...');
  return `${m[1]}/${database}${m[2] ?? ''}`;
}

describe('MongoDB store', function () {
  this.timeout(60_000);
  const database = `gatehouse_test_${randomBytes(6).toString('hex')}`;
  /** The lifecycle checks want an empty store per test: a database each, all dropped afterwards. */
  const lifecycleDatabases: string[] = [];

  before(function () {
    if (!MONGODB_URI) {
      console.log('  MongoDB: skipped - MONGODB_URI is not set and no MongoDB server can be installed here (set MONGODB_URI=mongodb://host:27017 to run it)');
      this.skip();
    }
  });
  after(async () => {
    if (!MONGODB_URI) return;
    const client = new MongoClient(MONGODB_URI, { serverSelectionTimeoutMS: 5000 });
    try {
      for (const name of [database, ...lifecycleDatabases]) await client.db(name).dropDatabase();
    } finally {
      await client.close();
    }
  });

  describeStoreContract('mongodb', {
    open: async () => {
      const store = await openMongoStore(withDatabase(MONGODB_URI, database));
      return { store, close: () => store.close() };
    },
    openEmpty: async () => {
      const name = `${database}_l${lifecycleDatabases.length}`;
      lifecycleDatabases.push(name);
      const store = await openMongoStore(withDatabase(MONGODB_URI, name));
      return { store, close: () => store.close() };
    },
  });
});
