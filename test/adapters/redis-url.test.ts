/** REDIS_URL spellings → ioredis options (adapters/redis-url.ts), and what is refused. */
import assert from 'node:assert/strict';
import { parseRedisUrl, RedisUrlError } from '../../adapters/redis-url.js';

const pick = (o: object, keys: string[]) => Object.fromEntries(Object.entries(o).filter(([k]) => keys.includes(k)));
const CONNECTION = ['host', 'port', 'db', 'username', 'password', 'tls', 'name', 'sentinels', 'sentinelUsername', 'sentinelPassword', 'enableTLSForSentinelMode', 'sentinelTLS', 'keyPrefix'];

describe('REDIS_URL parsing', () => {
  it('one server: host, port, database, credentials, TLS', () => {
    const plain = parseRedisUrl('redis://cache.internal');
    assert.equal(plain.mode, 'standalone');
    assert.deepEqual(pick(plain.options, CONNECTION), { host: 'cache.internal', port: 6379, db: 0, keyPrefix: 'gatehouse:' });

    const full = parseRedisUrl('rediss://gatehouse:p%40ss%3Aword@10.0.0.5:6380/3?prefix=idp%3A');
    assert.deepEqual(pick(full.options, CONNECTION), {
      host: '10.0.0.5', port: 6380, db: 3, username: 'gatehouse', password: 'p@ss:word', tls: {}, keyPrefix: 'idp:',
    });
    assert.equal(full.keyPrefix, 'idp:');

    assert.deepEqual(pick(parseRedisUrl('redis://:only-password@[::1]:7000').options, CONNECTION), {
      host: '::1', port: 7000, db: 0, password: 'only-password', keyPrefix: 'gatehouse:',
    });
  });

  it('commands fail after a short reconnect instead of hanging', () => {
    const c = parseRedisUrl('redis://cache.internal');
    assert.ok(c.mode === 'standalone');
    const { options } = c;
    assert.equal(options.maxRetriesPerRequest, 5);
    assert.equal(typeof options.retryStrategy, 'function');
    assert.equal(options.retryStrategy!(1), 100);
    assert.equal(options.retryStrategy!(100), 2000);
  });

  it('Sentinel: redis+sentinel://sentinels/master[/db]', () => {
    const c = parseRedisUrl('redis+sentinel://:secret@s1.internal:26379,s2.internal,10.0.0.9:26380/mymaster/2?sentinelPassword=s3nt');
    assert.equal(c.mode, 'sentinel');
    assert.deepEqual(pick(c.options, CONNECTION), {
      password: 'secret', name: 'mymaster', db: 2, sentinelPassword: 's3nt', keyPrefix: 'gatehouse:',
      sentinels: [{ host: 's1.internal', port: 26379 }, { host: 's2.internal', port: 26379 }, { host: '10.0.0.9', port: 26380 }],
    });
    const tls = parseRedisUrl('rediss+sentinel://s1:26379?name=mymaster');
    assert.deepEqual(pick(tls.options, ['name', 'db', 'tls', 'enableTLSForSentinelMode', 'sentinelTLS']), {
      name: 'mymaster', db: 0, tls: {}, enableTLSForSentinelMode: true, sentinelTLS: {},
    });
  });

  it('Sentinel: redis://master?sentinels=host:port,host:port', () => {
    const c = parseRedisUrl('redis://user:pw@mymaster/1?sentinels=s1:26379,s2:26381');
    assert.equal(c.mode, 'sentinel');
    assert.deepEqual(pick(c.options, CONNECTION), {
      username: 'user', password: 'pw', name: 'mymaster', db: 1, keyPrefix: 'gatehouse:',
      sentinels: [{ host: 's1', port: 26379 }, { host: 's2', port: 26381 }],
    });
    assert.equal((parseRedisUrl('redis://ignored?sentinels=s1&name=other').options as { name: string }).name, 'other');
  });

  it('Cluster: redis+cluster://seed,seed', () => {
    const c = parseRedisUrl('rediss+cluster://:pw@n1.internal:7000,n2.internal:7001,n3.internal?prefix=gh:');
    assert.equal(c.mode, 'cluster');
    assert.ok(c.mode === 'cluster');
    assert.deepEqual(c.nodes, [{ host: 'n1.internal', port: 7000 }, { host: 'n2.internal', port: 7001 }, { host: 'n3.internal', port: 6379 }]);
    assert.equal(c.options.keyPrefix, 'gh:');
    assert.deepEqual(pick(c.options.redisOptions ?? {}, ['password', 'tls', 'maxRetriesPerRequest']), { password: 'pw', tls: {}, maxRetriesPerRequest: 5 });
    assert.equal(typeof c.options.clusterRetryStrategy, 'function');
  });

  it('refuses what it cannot honour, by name, never quoting the password', () => {
    const refused: [string, RegExp][] = [
      ['http://cache.internal', /unsupported scheme/],
      ['redis+nonsense://h', /unsupported scheme/],
      ['redis://', /host\[:port\]/],
      ['redis://h1,h2', /one host expected/],
      ['redis://h:99999', /host\[:port\]/],
      ['redis://h/notanumber', /database in the path/],
      ['redis://h/1/2', /path \/db/],
      ['redis://h?timeout=5', /unknown parameter "timeout"/],
      ['redis://h?name=mymaster', /only to Sentinel/],
      ['redis+sentinel://s1:26379', /master name/],
      ['redis+sentinel://s1:26379/m/0/extra', /\/master\[\/db\]/],
      ['redis+sentinel://s1/m?sentinels=s2', /not both/],
      ['redis://m:6379?sentinels=s1', /without a port/],
      ['redis+cluster://n1:7000/1', /only database 0/],
      ['redis+cluster://n1:7000?sentinels=s1', /do not apply to a Cluster/],
      ['redis://:p%zz@h', /percent-encoding/],
      ['not a url', /expected redis:/],
    ];
    // Each URL also gets a password, which must not appear in the message.
    const withPassword = (url: string) => (url.includes('@') ? url : url.replace('//', '//:hunter2@'));
    for (const [url, message] of refused) {
      assert.throws(() => parseRedisUrl(withPassword(url)), (err: Error) => {
        assert.ok(err instanceof RedisUrlError, url);
        assert.match(err.message, /^REDIS_URL: /, url);
        assert.match(err.message, message, url);
        assert.ok(!err.message.includes('hunter2'), `${url}: the password stays out of the message`);
        return true;
      });
    }
  });
});
