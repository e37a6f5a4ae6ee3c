/**
 * Issue 13 item 4: deleting a client revokes its grants and tokens (RFC 7592 §2.3: "SHOULD immediately
 * invalidate all existing authorization grants and currently-active tokens associated with this client").
 * Through the API (DELETE /admin/v1/clients/{id}) and the CLI (`gatehouse clients delete`), both through the
 * client registry: the deleted app's refresh token is refused, its grant, refresh token and access token
 * rows are gone from the SQLite file, and another app's refresh token of the same person still works.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import * as oidc from 'openid-client';
import { bootGatehouse, TEST_ENCRYPTION_KEY, type TestGatehouse } from '../helpers/gatehouse.js';
import { startRelyingParty, type TestRelyingParty } from '../helpers/relying-party.js';
import { UserAgent, formAction } from '../helpers/user-agent.js';
import { sqliteText } from '../helpers/sqlite-text.js';
import { runCli } from '../helpers/run-cli.js';
import { submitPassword } from '../mfa/helpers.js';
import { storageKey } from '../../src/oidc/adapter.js';
import { ADMIN_SCOPES } from '../../src/admin/admin-scopes.js';
import { createAdminCaller, managementToken } from './admin-client.js';

type App = { rp: TestRelyingParty; config: oidc.Configuration; clientId: string };

describe('deleting a client revokes its grants and tokens (issue 13 item 4)', () => {
  let gh: TestGatehouse;
  let call: ReturnType<typeof createAdminCaller>;
  let root: string;
  const rps: TestRelyingParty[] = [];
  const user = { email: 'lee@client-delete.example.test', password: 'a quiet harbour at dusk' };

  async function app(name: string): Promise<App> {
    const rp = await startRelyingParty();
    rps.push(rp);
    const client = await gh.context.clients.create({
      client_name: name, redirect_uris: [rp.redirectUri], grant_types: ['authorization_code', 'refresh_token'], token_endpoint_auth_method: 'client_secret_basic',
    });
    const config = await oidc.discovery(new URL(gh.issuer), client.client_id, String(client.client_secret), undefined, { execute: [oidc.allowInsecureRequests] });
    rp.connect(config);
    return { rp, config, clientId: client.client_id };
  }

  async function signInTo(agent: UserAgent, a: App) {
    const atRp = (u: string) => u.startsWith(a.rp.origin);
    const url = await a.rp.authorizationUrl({ scope: 'openid offline_access', prompt: 'consent' });
    let page = await agent.open(url.href, atRp);
    if (!atRp(page.url) && page.html.includes('/login"')) page = await submitPassword(agent, page, user, atRp);
    if (!atRp(page.url)) page = await agent.submit(page, formAction(page.html, /\/consent$/), {}, atRp);
    await agent.open(page.url);
    const tokens = a.rp.callbacks.at(-1)!.tokens;
    assert.ok(tokens?.refresh_token, 'the app got a refresh token');
    return tokens;
  }

  /** the oidc_models rows of the file that belong to the client or to one of its grants */
  function rowsOf(clientId: string, grantIds: string[]): { model: string }[] {
    const db = new Database(join(gh.dataDir, 'gatehouse.db'), { readonly: true, fileMustExist: true });
    try {
      const marks = grantIds.map(() => '?').join(', ') || "''";
      return db.prepare(`SELECT model FROM oidc_models WHERE client_id = ? OR grant_id IN (${marks}) OR (model = 'Grant' AND id IN (${marks}))`)
        .all(clientId, ...grantIds, ...grantIds) as { model: string }[];
    } finally {
      db.close();
    }
  }

  before(async () => {
    gh = await bootGatehouse();
    call = createAdminCaller(gh);
    root = await managementToken(gh, Object.keys(ADMIN_SCOPES).join(' '));
    await gh.context.accounts.create({ ...user, emailVerified: true });
  });
  after(async () => {
    for (const rp of rps) await rp.close();
    await gh?.close();
  });

  const doors = {
    'the API': async (clientId: string) => assert.equal((await call('DELETE', `/clients/${clientId}`, { token: root })).status, 204),
    'the CLI': async (clientId: string) => {
      const run = await runCli(
        { DATABASE_URL: `sqlite:${join(gh.dataDir, 'gatehouse.db')}`, KEY_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEY, ISSUER: gh.issuer },
        'clients', 'delete', '--client-id', clientId, '--yes',
      );
      assert.equal(run.code, 0, run.stderr);
    },
  };

  for (const [door, remove] of Object.entries(doors)) {
    it(`through ${door}: the deleted app's tokens and grant rows are gone, another app's still work`, async () => {
      const agent = new UserAgent();
      const doomed = await app(`Doomed app (${door})`);
      const kept = await app(`Kept app (${door})`);
      const doomedTokens = await signInTo(agent, doomed);
      const keptTokens = await signInTo(agent, kept);
      const grantIds = (await gh.context.store.oidc.findByClientId('Grant', doomed.clientId)).map((g) => String(g.jti));
      assert.equal(grantIds.length, 1);
      assert.ok(rowsOf(doomed.clientId, grantIds).some((r) => r.model === 'RefreshToken'), 'the refresh token is stored before');
      assert.ok(sqliteText(gh.dataDir).includes(storageKey(doomedTokens.refresh_token!)));

      await remove(doomed.clientId);

      // the refresh token is refused: the client no longer authenticates (RFC 6749 §5.2 invalid_client, a
      // 401 with a Basic challenge), and the token itself is gone from the store (below)
      await assert.rejects(oidc.refreshTokenGrant(doomed.config, doomedTokens.refresh_token!), (err: { status?: number; error?: string }) =>
        err.status === 401 || err.error === 'invalid_client' || err.error === 'invalid_grant');
      assert.deepEqual(rowsOf(doomed.clientId, grantIds), [], 'no row of its grants or tokens is left');
      const text = sqliteText(gh.dataDir);
      assert.ok(!text.includes(storageKey(doomedTokens.refresh_token!)), 'its refresh token row is gone');
      assert.ok(!text.includes(storageKey(doomedTokens.access_token)), 'its access token row is gone');
      assert.ok((await oidc.refreshTokenGrant(kept.config, keptTokens.refresh_token!)).access_token, 'the other app still works');
    });
  }
});
