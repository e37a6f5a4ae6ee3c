import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { DEFAULT_POOL_SIZE, openPostgresStore, postgresPoolConfig } from '../../adapters/postgres.js';
import { fromJsonb, toJsonb } from '../../adapters/postgres-jsonb.js';
import { MIGRATIONS } from '../../adapters/postgres-schema.js';
import { openStore } from '../../adapters/index.js';
import { startPostgres, type PostgresService } from '../helpers/services/postgres-server.js';
import { startRedis, type RedisService } from '../helpers/services/redis-server.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { describeStoreContract } from './store-contract.js';
import { describeTenantContract } from './tenant-contract.js';

describe('PostgreSQL store', function () {
  this.timeout(60_000);
  let server: PostgresService;
  let proxy: TcpProxy;
  before(async () => {
    server = await startPostgres();
    proxy = await startTcpProxy(server.port);
  });
  after(async () => {
    await proxy?.close();
    await server?.stop();
  });
  /** The stores reach the server through the proxy, so a test can cut them off while it runs. */
  const urlFor = (database = 'gatehouse') => `postgres://postgres@127.0.0.1:${proxy.port}/${database}`;

  async function freshDatabase(prefix = 'migrate'): Promise<string> {
    const name = `${prefix}_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${name}`);
    } finally {
      await admin.end();
    }
    return name;
  }

  describeStoreContract('postgres', {
    open: async () => {
      const store = await openPostgresStore(urlFor());
      return {
        store,
        restartServer: () => server.restart(),
        takeServerDown: async () => {
          await proxy.cut();
          return () => proxy.restore();
        },
        close: () => store.close(),
      };
    },
    // an empty store: a database of its own (the server is dropped with its data)
    openEmpty: async () => {
      const store = await openPostgresStore(urlFor(await freshDatabase('lifecycle')));
      return { store, close: () => store.close() };
    },
  });

  // The same contract inside a tenant other than the default, on the database the default tenant's run
  // filled: every method of a tenant's handle behaves as the root does, seeing only its own tenant's
  // records. An "empty" store is a tenant of its own on that same full database.
  let tenants = 0;
  describeStoreContract('postgres, tenant acme', {
    open: async () => {
      const root = await openPostgresStore(urlFor());
      return {
        store: root.forTenant('acme'),
        restartServer: () => server.restart(),
        takeServerDown: async () => {
          await proxy.cut();
          return () => proxy.restore();
        },
        close: () => root.close(),
      };
    },
    openEmpty: async () => {
      const root = await openPostgresStore(urlFor());
      return { store: root.forTenant(`empty-${randomBytes(4).toString('hex')}-${tenants++}`), close: () => root.close() };
    },
  });

  describeTenantContract('postgres', {
    open: async () => {
      const store = await openPostgresStore(urlFor());
      return { store, close: () => store.close() };
    },
  });

  // REDIS_URL set: the split store's tenant handles are this store's and Redis's of the same tenant
  describe('with Redis', () => {
    let redis: RedisService;
    before(async () => {
      redis = await startRedis();
    });
    after(() => redis?.stop());
    describeTenantContract('postgres+redis', {
      open: async () => {
        const store = await openStore({ databaseUrl: urlFor(), redisUrl: `redis://127.0.0.1:${redis.port}` });
        return { store, close: () => store.close() };
      },
    });
  });

  describe('schema migrations', () => {
    async function appliedVersions(database: string): Promise<number[]> {
      const client = new pg.Client({ connectionString: urlFor(database) });
      await client.connect();
      try {
        const { rows } = await client.query<{ version: number }>('SELECT version FROM gatehouse_migrations ORDER BY version');
        return rows.map((r) => r.version);
      } finally {
        await client.end();
      }
    }

    it('creates the schema once when several replicas start together', async () => {
      const database = await freshDatabase();
      const replicas = await Promise.all(Array.from({ length: 5 }, () => openPostgresStore(urlFor(database))));
      try {
        assert.deepEqual(await appliedVersions(database), MIGRATIONS.map((_, i) => i + 1));
        // Every replica works on the one schema.
        await replicas[0]!.oidc.upsert('Session', 's1', { uid: 'u1' }, 60);
        assert.deepEqual(await replicas[4]!.oidc.findByUid('Session', 'u1'), { uid: 'u1' });
      } finally {
        await Promise.all(replicas.map((r) => r.close()));
      }
      // Starting again finds nothing to do.
      const again = await openPostgresStore(urlFor(database));
      await again.close();
      assert.deepEqual(await appliedVersions(database), MIGRATIONS.map((_, i) => i + 1));
    });

    it('leaves a newer schema alone (an older replica during a rolling upgrade)', async () => {
      const database = await freshDatabase();
      await (await openPostgresStore(urlFor(database))).close();
      const client = new pg.Client({ connectionString: urlFor(database) });
      await client.connect();
      await client.query('INSERT INTO gatehouse_migrations (version) VALUES ($1)', [MIGRATIONS.length + 1]);
      await client.end();
      const store = await openPostgresStore(urlFor(database));
      await store.ping();
      await store.close();
    });
  });

  describe('jsonb encoding', () => {
    const roundTrip = (value: unknown) => fromJsonb(JSON.parse(toJsonb(value)));
    it('stores plain JSON as itself, and only what jsonb refuses in an envelope', () => {
      const plain = { text: 'a literal \\u0000 is six characters', emoji: '👩🏽‍💻', pair: '\ud83d\ude00' };
      assert.equal(toJsonb(plain), JSON.stringify(plain));
      for (const refused of [{ s: 'nul\0' }, { s: 'lone \udc00' }, ['\\', '\0']]) {
        assert.match(toJsonb(refused), /^\{"gatehouse:json-base64":/);
        assert.deepEqual(roundTrip(refused), refused);
      }
    });
    it('wraps a value that merely looks like an envelope, so it reads back as itself', () => {
      const lookalike = { 'gatehouse:json-base64': Buffer.from('"surprise"').toString('base64') };
      assert.deepEqual(roundTrip(lookalike), lookalike);
    });
  });

  describe('DATABASE_URL', () => {
    it('takes the pool size from ?max= and gives pg the rest of the URL', () => {
      const config = postgresPoolConfig('postgres://gh:s3cret@db.internal:5432/gatehouse?max=25&sslmode=require');
      assert.equal(config.max, 25);
      assert.equal(config.connectionString, 'postgres://gh:s3cret@db.internal:5432/gatehouse?sslmode=require');
      assert.equal(postgresPoolConfig('postgres://db.internal/gatehouse').max, DEFAULT_POOL_SIZE);
    });

    it('refuses a bad ?max= by name, without echoing the password', () => {
      for (const max of ['0', '-1', 'ten', '1001', '2.5']) {
        assert.throws(
          () => postgresPoolConfig(`postgres://gh:s3cret@db.internal/gatehouse?max=${max}`),
          (err: Error) => /DATABASE_URL: \?max= must be an integer from 1 to 1000/.test(err.message) && !err.message.includes('s3cret'),
        );
      }
    });

    it('fails to open, clearly, when the server is unreachable', async () => {
      await proxy.cut();
      try {
        await assert.rejects(openPostgresStore(urlFor()), (err: Error) => /ECONNREFUSED|connect/i.test(err.message));
      } finally {
        await proxy.restore();
      }
    });
  });
});
