/** DATABASE_URL → the durable store. Each adapter is one file; this is the only place that picks one. */
import type { Store } from './contract.js';
import { openSqliteStore } from './sqlite.js';

export async function openStore(databaseUrl: string): Promise<Store> {
  const scheme = new URL(databaseUrl).protocol.replace(/:$/, '');
  switch (scheme) {
    case 'sqlite':
      return openSqliteStore(databaseUrl);
    default:
      throw new Error(`DATABASE_URL: the ${scheme} adapter is not available in this build`);
  }
}
