import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { postgresBinDir, startPostgres } from '../helpers/services/postgres-server.js';
import { runCommand, tcpAccepts } from '../helpers/services/process-handle.js';
import { startRedis } from '../helpers/services/redis-server.js';
import { DIRECTORY_FIXTURE, startSlapd } from '../helpers/services/slapd.js';

interface Service { port: number; stop(): Promise<void>; restart(): Promise<void> }

/** Raw RESP so this self-check does not depend on the Redis client under test elsewhere. */
function redisPing(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = '';
    socket.setTimeout(2000, () => socket.destroy(new Error('PING timed out')));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('utf8');
      if (reply.includes('\r\n')) {
        socket.destroy();
        resolve(reply.trim());
      }
    });
    socket.once('error', reject);
  });
}

/**
 * Shared life cycle: start quickly, answer, answer again after restart(), and leave the
 * port closed after stop(). stop() runs even when a check fails so nothing is orphaned.
 */
async function exercise<T extends Service>(start: () => Promise<T>, check: (service: T) => Promise<void>): Promise<void> {
  const began = Date.now();
  const service = await start();
  try {
    const elapsed = Date.now() - began;
    assert.ok(elapsed < 10_000, `start took ${elapsed} ms`);
    await check(service);
    await service.restart();
    await check(service);
  } finally {
    await service.stop();
  }
  assert.equal(await tcpAccepts(service.port), false, `port ${service.port} still open after stop()`);
}

describe('test services', function () {
  this.timeout(60_000);

  it('redis: answers PING, survives restart, closes its port on stop', async () => {
    await exercise(startRedis, async (redis) => {
      assert.match(redis.url, /^redis:\/\/127\.0\.0\.1:\d+$/);
      assert.equal(await redisPing(redis.port), '+PONG');
    });
  });

  it('postgres: serves the gatehouse database, keeps data across restart, closes on stop', async () => {
    const psql = join(await postgresBinDir(), 'psql');
    let round = 0;
    await exercise(startPostgres, async (pg) => {
      assert.match(pg.url, /^postgres:\/\/postgres@127\.0\.0\.1:\d+\/gatehouse$/);
      // Only the first round creates the table, so the second proves restart kept the data dir.
      const sql = round++ === 0
        ? 'CREATE TABLE probe (n int); INSERT INTO probe VALUES (42); SELECT n FROM probe'
        : 'SELECT n FROM probe';
      const out = await runCommand(psql, ['-X', '-q', '-tA', '-d', pg.url, '-c', sql]);
      assert.match(out, /^42$/m);
    });
  });

  it('slapd: finds alice with memberOf, survives restart, closes its port on stop', async () => {
    const ldif = await readFile(DIRECTORY_FIXTURE, 'utf8');
    await exercise(() => startSlapd({ ldif }), async (ldap) => {
      assert.match(ldap.url, /^ldap:\/\/127\.0\.0\.1:\d+$/);
      const out = await runCommand('ldapsearch', [
        '-x', '-LLL', '-H', ldap.url, '-D', ldap.bindDn, '-w', ldap.bindPassword,
        '-b', ldap.suffix, '(uid=alice)', 'mail', 'memberOf',
      ]);
      assert.match(out, /^dn: uid=alice,ou=people,dc=example,dc=org$/m);
      assert.match(out, /^mail: alice@example\.org$/m);
      assert.match(out, /^memberOf: cn=admins,ou=groups,dc=example,dc=org$/m);
    });
  });
});
