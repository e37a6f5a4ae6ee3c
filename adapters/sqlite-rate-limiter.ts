/**
 * rate-limiter-flexible's SQLite limiter on a better-sqlite3 database, with its statements prepared once.
 *
 * The library calls `storeClient.prepare(sql)` on every get, consume and delete, and SQLite parses and
 * plans the statement each time (a `get` took ~16 µs, ~5 µs with the statement reused). The library only
 * uses `prepare` and `transaction` of its client, so it is given a client that hands back the same
 * prepared statement for the same SQL text (a handful of texts: its table name is fixed) and leaves
 * transactions to the database. The counting, and so every limit, is the library's own, unchanged.
 *
 * rate_limits belongs to no tenant: a tenant's counters are told apart by their key, which starts with
 * the tenant's key prefix (record-schema.ts: tenantKeyPrefix; TenantStore.delete removes them by it).
 */
import type Database from 'better-sqlite3';
import { RateLimiterSQLite } from 'rate-limiter-flexible';
import type { RateLimiterOptions } from './contract.js';
import { TABLES, tenantKeyPrefix } from './record-schema.js';
import type { ForTenant } from './sqlite-sql.js';

const TABLE = TABLES.rateLimits.name;

export function createSqliteRateLimiterFactory(db: Database.Database): ForTenant<(o: RateLimiterOptions) => RateLimiterSQLite> {
  const statements = new Map<string, Database.Statement>();
  const client = {
    prepare(sql: string): Database.Statement {
      let statement = statements.get(sql);
      if (!statement) statements.set(sql, (statement = db.prepare(sql)));
      return statement;
    },
    transaction: db.transaction.bind(db),
  };
  // The library creates its table asynchronously and refuses to count until then; the table is part of
  // the schema (record-schema.ts: rate_limits, the library's own layout), so a limiter counts from its first call.
  return (tenant) => (o) =>
    new RateLimiterSQLite({ storeClient: client, storeType: 'better-sqlite3', tableName: TABLE, tableCreated: true, ...o, keyPrefix: `${tenantKeyPrefix(tenant)}${o.keyPrefix}` });
}
