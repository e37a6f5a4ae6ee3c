/** DATABASE_URL / REDIS_URL → which store opens, and how bad or unreachable settings fail. */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { databaseScheme, openStore } from '../../adapters/index.js';
import { mongoClientDefaults, mongoDatabaseName, openMongoStore } from '../../adapters/mongodb.js';
import { loadConfig, ConfigError } from '../../src/config/load-config.js';
import { freePort } from '../helpers/services/free-port.js';

describe('opening the store', function () {
  this.timeout(30_000);
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-open-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('accepts every supported DATABASE_URL and REDIS_URL spelling at start-up', () => {
    const config = loadConfig({
      DATABASE_URL: 'mongodb://gh:pw@db1.internal:27017,db2.internal:27017/gatehouse?replicaSet=rs0',
      REDIS_URL: 'redis+sentinel://s1:26379,s2:26379/mymaster',
    });
    assert.equal(config.DATABASE_URL, 'mongodb://gh:pw@db1.internal:27017,db2.internal:27017/gatehouse?replicaSet=rs0');
    for (const url of ['postgres://u:p@h:5432/db?max=20', 'postgresql://h/db', 'mongodb+srv://c.example.net/db', 'sqlite:./data/x.db']) {
      assert.equal(loadConfig({ DATABASE_URL: url }).DATABASE_URL, url);
    }
    for (const url of ['redis://h:6379/0', 'rediss://:pw@h', 'redis+cluster://a:7000,b:7001', 'redis://m?sentinels=a:26379']) {
      assert.equal(loadConfig({ REDIS_URL: url }).REDIS_URL, url);
    }
    assert.equal(loadConfig({}).REDIS_URL, '', 'no Redis by default');
  });

  it('refuses a bad URL at start-up, naming the setting and never the password', () => {
    assert.throws(() => loadConfig({ DATABASE_URL: 'mysql://root:hunter2@h/db' }), (err: Error) =>
      err instanceof ConfigError && /^DATABASE_URL: got \(hidden\)/.test(err.message) && !err.message.includes('hunter2'));
    assert.throws(() => loadConfig({ REDIS_URL: 'redis://:hunter2@h?timeout=1' }), (err: Error) =>
      err instanceof ConfigError && /^REDIS_URL: got \(hidden\); expected .*redis\+cluster.* \(unknown parameter "timeout"\)$/.test(err.message) && !err.message.includes('hunter2'));
  });

  it('reads the scheme and the MongoDB database without new URL (replica sets list several hosts)', () => {
    assert.equal(databaseScheme('mongodb+srv://c.example.net/db'), 'mongodb+srv');
    assert.equal(databaseScheme('POSTGRES://h/db'), 'postgres');
    assert.equal(mongoDatabaseName('mongodb://a:1,b:2/idp?replicaSet=rs0'), 'idp');
    assert.equal(mongoDatabaseName('mongodb://a:1,b:2/?replicaSet=rs0'), 'gatehouse');
    assert.equal(mongoDatabaseName('mongodb+srv://u:p%2F@c.example.net'), 'gatehouse');
    assert.equal(mongoDatabaseName('mongodb://h/my%20db'), 'my db');
  });

  it('gives the MongoDB driver our defaults only where the URL says nothing', () => {
    assert.deepEqual(mongoClientDefaults('mongodb://h/db'), { serverSelectionTimeoutMS: 5000, appName: 'gatehouse' });
    assert.deepEqual(mongoClientDefaults('mongodb://h/db?serverselectiontimeoutms=100&appName=x'), {});
  });

  it('refuses an unknown scheme by name', async () => {
    await assert.rejects(openStore({ databaseUrl: 'mysql://h/db' }), /DATABASE_URL: no adapter for the "mysql" scheme/);
  });

  it('fails clearly, and leaves nothing open, when MongoDB or Redis cannot be reached', async () => {
    const closed = await freePort();
    await assert.rejects(openMongoStore(`mongodb://127.0.0.1:${closed}/db?serverSelectionTimeoutMS=300`), /ECONNREFUSED|Server selection timed out/);
    await assert.rejects(
      openStore({ databaseUrl: `sqlite:${join(dir, 'a.db')}`, redisUrl: `redis://127.0.0.1:${closed}` }),
      /REDIS_URL: cannot reach Redis/,
    );
  });
});
