/**
 * The live SQLite and PostgreSQL catalogs (tables, columns, keys, indexes, foreign keys) are the one
 * schema (adapters/record-schema.ts), both for a new database and for one made by the previous version
 * and upgraded at start-up.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { DuplicateError } from '../../adapters/contract.js';
import { openPostgresStore } from '../../adapters/postgres.js';
import { MIGRATIONS } from '../../adapters/postgres-schema.js';
import { ALL_TABLES, isTenanted, TENANT_COLUMN, type Table } from '../../adapters/record-schema.js';
import { implicitInSqlite, indexColumns, indexesOf, SQL_TYPES, type SqlDialect } from '../../adapters/sql-ddl.js';
import { openSqliteStore } from '../../adapters/sqlite.js';
import { HISTORIC_MIGRATIONS, SQLITE_SCHEMA_VERSION } from '../../adapters/sqlite-schema.js';
import { startPostgres, type PostgresService } from '../helpers/services/postgres-server.js';

/** One table as a catalog shows it; every list sorted, so two catalogs compare with deepEqual. */
type TableCatalog = {
  columns: string[];
  primaryKey: string[];
  indexes: string[];
  references: string[];
};
type Catalog = Record<string, TableCatalog>;

const column = (name: string, type: string, notNull: boolean) => `${name} ${type}${notNull ? ' NOT NULL' : ''}`;
const index = (name: string, columns: string[], unique: boolean, where: string | undefined, method = 'btree') =>
  `${unique ? 'UNIQUE ' : ''}${name}${method === 'btree' ? '' : ` USING ${method}`} (${columns.join(', ')})${where ? ` WHERE ${where} IS NOT NULL` : ''}`;

/** What the schema says each engine's catalog holds. */
function expected(dialect: SqlDialect): Catalog {
  const table = (t: Table): TableCatalog => {
    const soleKey = (c: string) => t.primaryKey.length === 1 && t.primaryKey[0] === c;
    return {
      columns: Object.entries(t.columns)
        .filter(([name]) => dialect !== 'sqlite' || !implicitInSqlite(t, name))
        // SQLite records NOT NULL only where it was declared; a sole primary key column was not
        .map(([name, c]) => column(name, SQL_TYPES[dialect][c.type], dialect === 'sqlite' ? !c.nullable && !soleKey(name) : !c.nullable || t.primaryKey.includes(name)))
        .sort(),
      primaryKey: [...t.primaryKey],
      indexes: indexesOf(dialect, t)
        // PostgreSQL's catalog shows a column's operator class after it
        .map((i) => index(i.name, indexColumns(dialect, t, i).map((c) => (dialect === 'postgres' && i.postgresOpclass ? `${c} ${i.postgresOpclass}` : c)), i.unique === true, i.whereNotNull,
          dialect === 'postgres' ? i.postgresMethod : undefined))
        .sort(),
      references: t.references ? [`${isTenanted(t) ? `${TENANT_COLUMN}, ` : ''}${t.references.column} -> ${t.references.table}`] : [],
    };
  };
  return Object.fromEntries(ALL_TABLES.map((t) => [t.name, table(t)]));
}

function sqliteCatalog(file: string): Catalog {
  const db = new Database(file, { readonly: true });
  try {
    const tables = db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all();
    return Object.fromEntries(tables.map(({ name }) => {
      const info = db.prepare(`PRAGMA table_info(${name})`).all() as { name: string; type: string; notnull: number; pk: number }[];
      const indexes = (db.prepare(`PRAGMA index_list(${name})`).all() as { name: string; unique: number; origin: string }[])
        .filter((i) => i.origin !== 'pk')
        .map((i) => {
          const columns = (db.prepare(`PRAGMA index_info(${i.name})`).all() as { seqno: number; name: string }[])
            .sort((a, b) => a.seqno - b.seqno).map((c) => c.name);
          const sql = db.prepare<[string], { sql: string | null }>("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?").get(i.name)?.sql ?? '';
          return index(i.name, columns, i.unique === 1, /WHERE (\w+) IS NOT NULL/.exec(sql)?.[1]);
        });
      // one row per column of each foreign key, in the key's order (seq)
      const keys = new Map<number, { from: string[]; table: string }>();
      for (const f of db.prepare(`PRAGMA foreign_key_list(${name})`).all() as { id: number; seq: number; from: string; table: string }[]) {
        const key = keys.get(f.id) ?? { from: [], table: f.table };
        key.from[f.seq] = f.from;
        keys.set(f.id, key);
      }
      const references = [...keys.values()].map((k) => `${k.from.join(', ')} -> ${k.table}`);
      return [name, {
        columns: info.map((c) => column(c.name, c.type, c.notnull === 1)).sort(),
        primaryKey: info.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => c.name),
        indexes: indexes.sort(),
        references,
      }];
    }));
  } finally {
    db.close();
  }
}

async function postgresCatalog(url: string): Promise<Catalog> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const q = async <R extends pg.QueryResultRow>(sql: string, values: unknown[] = []) => (await client.query<R>(sql, values)).rows;
    const tables = await q<{ name: string }>(
      "SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r' AND c.relname <> 'gatehouse_migrations'",
    );
    const catalog: Catalog = {};
    for (const { name } of tables) {
      const columns = await q<{ name: string; type: string; not_null: boolean }>(
        `SELECT attname AS name, format_type(atttypid, atttypmod) AS type, attnotnull AS not_null FROM pg_attribute
         WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped`, [name]);
      const indexes = await q<{ name: string; primary: boolean; unique: boolean; def: string }>(
        `SELECT i.relname AS name, x.indisprimary AS primary, x.indisunique AS unique, pg_get_indexdef(x.indexrelid) AS def
         FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = $1::regclass`, [name]);
      const using = (def: string) => /USING (\w+) \(([^)]*)\)/.exec(def)!;
      const parse = (def: string) => using(def)[2]!.replaceAll('"', '').split(', ');
      const references = await q<{ def: string }>(
        "SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'f'", [name]);
      catalog[name] = {
        columns: columns.map((c) => column(c.name, c.type, c.not_null)).sort(),
        primaryKey: parse(indexes.find((i) => i.primary)?.def ?? 'USING btree ()'),
        indexes: indexes.filter((i) => !i.primary)
          .map((i) => index(i.name, parse(i.def), i.unique, /WHERE \((\w+) IS NOT NULL\)/.exec(i.def)?.[1], using(i.def)[1])).sort(),
        references: references.map((r) => {
          const m = /FOREIGN KEY \(([\w, ]+)\) REFERENCES (\w+)/.exec(r.def)!;
          return `${m[1]} -> ${m[2]}`;
        }),
      };
    }
    return catalog;
  } finally {
    await client.end();
  }
}

/** The tables the previous version created on first use, in its words. */
const SQLITE_FIRST_USE = [
  'CREATE TABLE IF NOT EXISTS rate_limits (key TEXT PRIMARY KEY, points INTEGER NOT NULL DEFAULT 0, expire INTEGER)',
  'CREATE TABLE IF NOT EXISTS store_locks (name TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_at INTEGER NOT NULL)',
];

describe('one schema: the live catalogs', function () {
  this.timeout(60_000);

  describe('SQLite', () => {
    let dir: string;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'gatehouse-catalog-'));
    });
    after(() => rm(dir, { recursive: true, force: true }));

    /** A file as the previous version left it: its four migrations, then its tables made on first use. */
    function previousVersionFile(name: string, fill: (db: Database.Database) => void): string {
      const file = join(dir, name);
      const db = new Database(file);
      db.pragma('foreign_keys = ON');
      HISTORIC_MIGRATIONS.forEach((sql, i) => {
        db.exec(sql);
        db.pragma(`user_version = ${i + 1}`);
      });
      for (const sql of SQLITE_FIRST_USE) db.exec(sql);
      fill(db);
      db.close();
      return file;
    }

    it('creates a new file as the schema says', async () => {
      const file = join(dir, 'new.db');
      await openSqliteStore(`sqlite:${file}`).close();
      assert.deepEqual(sqliteCatalog(file), expected('sqlite'));
    });

    it('upgrades a file of the previous version to the schema, keeping its rows', async () => {
      const file = previousVersionFile('previous.db', (db) => {
        db.prepare(`INSERT INTO accounts (id, email, email_verified, name, password_hash, roles, created_at, updated_at)
                    VALUES ('acc-1', 'Ada@Example.Test', 1, 'Ada', NULL, '["admin"]', 1, 2)`).run();
        db.prepare("INSERT INTO federated_links VALUES ('ldap', 'uuid-1', 'acc-1', 1, 2)").run();
        db.prepare("INSERT INTO account_roles VALUES ('acc-1', 'ldap', 'ops')").run();
        db.prepare(`INSERT INTO oidc_models (model, id, payload, uid, expires_at) VALUES ('Interaction', 'i1', '{"uid":"u1"}', 'u1', NULL)`).run();
        db.prepare("INSERT INTO store_locks VALUES ('keys', 'replica-1', 1)").run();
        db.prepare(`INSERT INTO resources VALUES ('https://api.example.test', 'Old API', '{"read":"Read"}', 600, 1)`).run();
        // events of one millisecond, in an order their ids do not have: the rowid keeps it
        const audit = db.prepare(`INSERT INTO audit_events (id, time, type, result, account_id, details) VALUES (?, 5, 'login', 'success', 'acc-1', '{}')`);
        for (const id of ['ev-c', 'ev-a', 'ev-b']) audit.run(id);
        const history = db.prepare("INSERT INTO password_history (account_id, password_hash, created_at) VALUES ('acc-1', ?, 7)");
        for (const hash of ['pw-1', 'pw-2', 'pw-3']) history.run(hash);
        // the newest one pruned: its seq (3) is never handed out again
        db.prepare('DELETE FROM password_history WHERE seq = 3').run();
      });
      const store = openSqliteStore(`sqlite:${file}`);
      try {
        assert.deepEqual((await store.accounts.findByEmail('ada@example.test'))?.roles, ['admin']);
        assert.deepEqual(await store.federation.linksOf('acc-1'), [{ providerId: 'ldap', externalId: 'uuid-1', accountId: 'acc-1', createdAt: 1, lastLoginAt: 2 }]);
        assert.deepEqual(await store.federation.rolesOf('acc-1'), ['ops'], 'rebuilding accounts did not cascade');
        assert.deepEqual(await store.oidc.findByUid('Interaction', 'u1'), { uid: 'u1' });
        await assert.rejects(
          store.accounts.create({ id: 'acc-2', email: 'ADA@example.test', emailVerified: false, name: null, passwordHash: null, roles: [], createdAt: 3, updatedAt: 3, disabledAt: null, lastLoginAt: null }),
          DuplicateError,
        );
        await assert.rejects(store.federation.createLink({ providerId: 'ldap', externalId: 'x', accountId: 'nobody', createdAt: 1, lastLoginAt: 1 }), 'foreign keys are enforced again');
        assert.equal(await store.tryLock('keys', 60, 'replica-2'), true, 'the old lock row expired long ago');
        assert.deepEqual(await store.resources.find('https://api.example.test'), {
          identifier: 'https://api.example.test', name: 'Old API', scopes: { read: 'Read' }, accessTokenTtl: 600,
          permissionsFromRoles: false, tokenClaims: [], createdAt: 1,
        }, 'an API registered before roles keeps today\'s behaviour');
        assert.deepEqual(await store.roles.list(), []);
        assert.deepEqual((await store.audit.query({ accountId: 'acc-1' })).map((e) => e.id), ['ev-c', 'ev-a', 'ev-b'], 'the insertion order is kept');
        await store.passwordHistory.add('acc-1', { passwordHash: 'pw-4', createdAt: 8 }, 10);
        assert.deepEqual((await store.passwordHistory.recent('acc-1', 10)).map((e) => e.passwordHash), ['pw-4', 'pw-2', 'pw-1']);
        // the rows are the default tenant's: another tenant sees none of them
        const acme = store.forTenant('acme');
        assert.equal(await acme.accounts.findByEmail('ada@example.test'), undefined);
        assert.deepEqual(await acme.audit.query({}), []);
        assert.equal(await acme.oidc.findByUid('Interaction', 'u1'), undefined);
      } finally {
        await store.close();
      }
      assert.deepEqual(sqliteCatalog(file), expected('sqlite'));
      const db = new Database(file, { readonly: true });
      assert.equal(db.pragma('user_version', { simple: true }), SQLITE_SCHEMA_VERSION);
      assert.deepEqual(db.prepare('SELECT seq FROM password_history ORDER BY seq').pluck().all(), [1, 2, 4], 'the counter went on from the old table\'s');
      for (const t of ALL_TABLES.filter(isTenanted)) {
        assert.deepEqual(db.prepare(`SELECT DISTINCT ${TENANT_COLUMN} FROM ${t.name} WHERE ${TENANT_COLUMN} <> 'default'`).all(), [], t.name);
      }
      db.close();
    });

    it('refuses, unchanged, a file whose emails differ only by a case NOCASE did not fold', () => {
      const file = previousVersionFile('clash.db', (db) => {
        const insert = db.prepare(`INSERT INTO accounts (id, email, email_verified, name, password_hash, created_at, updated_at) VALUES (?, ?, 0, NULL, NULL, 1, 1)`);
        insert.run('a', 'élodie@example.test');
        insert.run('b', 'Élodie@example.test');
      });
      assert.throws(() => openSqliteStore(`sqlite:${file}`), /differ only in letter case/);
      const db = new Database(file, { readonly: true });
      assert.equal(db.pragma('user_version', { simple: true }), HISTORIC_MIGRATIONS.length);
      assert.deepEqual(db.prepare('SELECT id FROM accounts ORDER BY id').all(), [{ id: 'a' }, { id: 'b' }]);
      db.close();
    });
  });

  describe('PostgreSQL', () => {
    let server: PostgresService;
    before(async () => {
      server = await startPostgres();
    });
    after(() => server?.stop());

    async function freshDatabase(): Promise<string> {
      const name = `catalog_${randomBytes(6).toString('hex')}`;
      const admin = new pg.Client({ connectionString: server.url });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${name}`).finally(() => admin.end());
      const url = new URL(server.url);
      url.pathname = `/${name}`;
      return url.href;
    }

    it('creates a new database as the schema says', async () => {
      const url = await freshDatabase();
      await (await openPostgresStore(url)).close();
      assert.deepEqual(await postgresCatalog(url), expected('postgres'));
    });

    it('upgrades a database of the previous version to the schema, keeping its rows', async () => {
      const url = await freshDatabase();
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query('CREATE TABLE gatehouse_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
        for (const [i, sql] of MIGRATIONS.slice(0, 3).entries()) {
          await client.query(sql as string);
          await client.query('INSERT INTO gatehouse_migrations (version) VALUES ($1)', [i + 1]);
        }
        // the previous version made the lock table on first use
        await client.query('CREATE TABLE IF NOT EXISTS store_locks (name text PRIMARY KEY, owner text NOT NULL, expires_at bigint NOT NULL)');
        await client.query(`INSERT INTO accounts (id, email, email_verified, name, password_hash, roles, created_at, updated_at)
                            VALUES ('acc-1', 'Ada@Example.Test', true, 'Ada', NULL, '{admin}', 1, 2)`);
        await client.query(`INSERT INTO resources VALUES ('https://api.example.test', 'Old API', '{"read":"Read"}', 600, 1)`);
        await client.query("INSERT INTO federated_links VALUES ('ldap', 'uuid-1', 'acc-1', 1, 2)");
        await client.query("INSERT INTO account_roles VALUES ('acc-1', 'ldap', 'ops')");
        await client.query(`INSERT INTO oidc_models (model, id, payload, uid, expires_at) VALUES ('Interaction', 'i1', '{"uid":"u1"}', 'u1', NULL)`);
        await client.query("INSERT INTO store_locks VALUES ('keys', 'replica-1', 1)");
        // events of one millisecond, in an order their ids do not have: seq keeps it
        for (const id of ['ev-c', 'ev-a', 'ev-b']) {
          await client.query(`INSERT INTO audit_events (id, time, type, result, account_id, details) VALUES ($1, 5, 'login', 'success', 'acc-1', '{}')`, [id]);
        }
        for (const hash of ['pw-1', 'pw-2', 'pw-3']) {
          await client.query("INSERT INTO password_history (account_id, password_hash, created_at) VALUES ('acc-1', $1, 7)", [hash]);
        }
        // the newest one pruned: its seq (3) is never handed out again
        await client.query('DELETE FROM password_history WHERE seq = 3');
      } finally {
        await client.end();
      }
      // two replicas start on the old database at once: one upgrades it, the other then finds nothing to do
      const [store, other] = await Promise.all([openPostgresStore(url), openPostgresStore(url)]);
      try {
        assert.deepEqual((await store.accounts.findByEmail('ADA@example.test'))?.roles, ['admin']);
        assert.deepEqual(await store.resources.find('https://api.example.test'), {
          identifier: 'https://api.example.test', name: 'Old API', scopes: { read: 'Read' }, accessTokenTtl: 600,
          permissionsFromRoles: false, tokenClaims: [], createdAt: 1,
        }, 'an API registered before roles keeps today\'s behaviour');
        assert.deepEqual(await store.roles.list(), []);
        assert.deepEqual(await store.federation.linksOf('acc-1'), [{ providerId: 'ldap', externalId: 'uuid-1', accountId: 'acc-1', createdAt: 1, lastLoginAt: 2 }]);
        assert.deepEqual(await store.federation.rolesOf('acc-1'), ['ops'], 'the new keys did not cascade');
        assert.deepEqual((await store.accounts.list({ limit: 10, role: 'ops' })).accounts.map((a) => a.id), ['acc-1']);
        assert.deepEqual(await other.oidc.findByUid('Interaction', 'u1'), { uid: 'u1' });
        await assert.rejects(
          store.accounts.create({ id: 'acc-2', email: 'ADA@example.test', emailVerified: false, name: null, passwordHash: null, roles: [], createdAt: 3, updatedAt: 3, disabledAt: null, lastLoginAt: null }),
          DuplicateError,
        );
        await assert.rejects(store.federation.createLink({ providerId: 'ldap', externalId: 'x', accountId: 'nobody', createdAt: 1, lastLoginAt: 1 }), 'the foreign key is made anew');
        assert.equal(await store.tryLock('keys', 60, 'replica-2'), true, 'the old lock row expired long ago');
        assert.deepEqual((await store.audit.query({ accountId: 'acc-1' })).map((e) => e.id), ['ev-c', 'ev-a', 'ev-b'], 'the insertion order is kept');
        await store.passwordHistory.add('acc-1', { passwordHash: 'pw-4', createdAt: 8 }, 10);
        assert.deepEqual((await store.passwordHistory.recent('acc-1', 10)).map((e) => e.passwordHash), ['pw-4', 'pw-2', 'pw-1']);
        // the rows are the default tenant's: another tenant sees none of them, and may use the same email
        const acme = store.forTenant('acme');
        assert.equal(await acme.accounts.findByEmail('ada@example.test'), undefined);
        assert.deepEqual(await acme.audit.query({}), []);
        assert.equal(await acme.oidc.findByUid('Interaction', 'u1'), undefined);
        assert.deepEqual(await acme.federation.rolesOf('acc-1'), []);
        await acme.accounts.create({ id: 'acc-1', email: 'ada@example.test', emailVerified: false, name: null, passwordHash: null, roles: [], createdAt: 3, updatedAt: 3, disabledAt: null, lastLoginAt: null });
      } finally {
        await Promise.all([store.close(), other.close()]);
      }
      assert.deepEqual(await postgresCatalog(url), expected('postgres'));
      const check = new pg.Client({ connectionString: url });
      await check.connect();
      try {
        assert.deepEqual((await check.query('SELECT version FROM gatehouse_migrations ORDER BY version')).rows.map((r) => r.version), MIGRATIONS.map((_, i) => i + 1));
        assert.deepEqual((await check.query('SELECT seq FROM password_history ORDER BY seq')).rows.map((r) => Number(r.seq)), [1, 2, 4], 'the counter went on');
        for (const t of ALL_TABLES.filter(isTenanted)) {
          const { rows } = await check.query(`SELECT DISTINCT ${TENANT_COLUMN} AS tenant FROM ${t.name} ORDER BY 1`);
          assert.deepEqual(rows.map((r) => r.tenant), t.name === 'accounts' ? ['acme', 'default'] : rows.length ? ['default'] : [], t.name);
        }
      } finally {
        await check.end();
      }
    });
  });
});
