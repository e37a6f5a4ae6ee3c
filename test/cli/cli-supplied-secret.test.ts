/**
 * Issue 11 item 9: `clients create --json` keeps an operator-supplied client_secret (a migration from another
 * provider) of at least 32 characters, stored encrypted; a shorter one is refused (exit 2) and nothing stored.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { sqliteText } from '../helpers/sqlite-text.js';
import { bootGatehouse, TEST_ENCRYPTION_KEY, type TestGatehouse } from '../helpers/gatehouse.js';
import { runCli, type CliRun } from '../helpers/run-cli.js';

describe('CLI: clients create with an operator-supplied client_secret', () => {
  let gh: TestGatehouse;
  let databaseUrl: string;
  const cli = (...args: string[]): Promise<CliRun> =>
    runCli({ DATABASE_URL: databaseUrl, KEY_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEY, ISSUER: gh.issuer }, ...args);

  before(async () => {
    gh = await bootGatehouse();
    databaseUrl = `sqlite:${join(gh.dataDir, 'gatehouse.db')}`;
    const r = await cli('resources', 'create', '--identifier', 'https://migrated.example.test', '--name', 'Migrated', '--scope', 'm:read=Read');
    assert.equal(r.code, 0, r.stderr);
  });
  after(() => gh.close());

  const rows = () => sqliteText(gh.dataDir);

  it('keeps a supplied secret of 32+ characters, stores it encrypted, and the token endpoint accepts it', async () => {
    const secret = 'migrated-from-keycloak-0123456789-abcdef';
    const run = await cli('clients', 'create', '--json', JSON.stringify({ client_id: 'migrated', grant_types: ['client_credentials'], response_types: [], redirect_uris: [], scope: 'm:read', client_secret: secret }));
    assert.equal(run.code, 0, run.stderr);
    assert.equal((JSON.parse(run.stdout) as { client_secret: string }).client_secret, secret);
    assert.ok(!rows().includes(secret), 'no plaintext secret in the store');

    const res = await fetch(`${gh.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`migrated:${secret}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'm:read', resource: 'https://migrated.example.test' }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    const wrong = await fetch(`${gh.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`migrated:${secret}x`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'm:read', resource: 'https://migrated.example.test' }),
    });
    assert.equal(wrong.status, 401);
  });

  for (const [why, secret] of [['31 characters', 'a'.repeat(31)], ['a space inside', `${'a'.repeat(20)} ${'b'.repeat(20)}`], ['not a string', 12345678901234567890]] as const) {
    it(`refuses a supplied secret with ${why}: exit 2, one line, nothing stored`, async () => {
      const before = rows();
      const run = await cli('clients', 'create', '--json', JSON.stringify({ client_id: `short-${why.length}`, grant_types: ['client_credentials'], response_types: [], redirect_uris: [], scope: 'm:read', client_secret: secret }));
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.lines.join('\n'), /client_secret: expected at least 32/);
      assert.equal(run.stdout, '');
      assert.equal(rows(), before, 'nothing stored');
    });
  }

  it('refuses a secret for a client that authenticates without one (exit 2)', async () => {
    const run = await cli('clients', 'create', '--json', JSON.stringify({ client_id: 'pub', token_endpoint_auth_method: 'none', redirect_uris: ['http://127.0.0.1:9/cb'], client_secret: 'x'.repeat(40) }));
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.lines.join('\n'), /has no secret/);
  });
});
