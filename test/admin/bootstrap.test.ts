/**
 * Bootstrapping a management client, as the README shows: `gatehouse clients create` with the
 * client_credentials grant and admin:* scopes (urn:gatehouse:admin was registered at start-up), then a
 * token from /token with client_credentials, then a call to /admin/v1.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as oidc from 'openid-client';
import { bootGatehouse, TEST_ENCRYPTION_KEY, type TestGatehouse } from '../helpers/gatehouse.js';
import { runCli } from '../helpers/run-cli.js';
import { createAdminCaller } from './admin-client.js';

describe('management API: bootstrap a management client with the CLI', () => {
  let gh: TestGatehouse;
  before(async () => { gh = await bootGatehouse(); });
  after(() => gh.close());

  it('gatehouse clients create, then client_credentials for urn:gatehouse:admin, then /admin/v1', async () => {
    const metadata = {
      client_name: 'provisioning',
      grant_types: ['client_credentials'], response_types: [], redirect_uris: [],
      scope: 'admin:users:read admin:users:write admin:clients:read',
      gatehouse_default_resource: 'urn:gatehouse:admin',
    };
    const run = await runCli({ DATABASE_URL: `sqlite:${join(gh.dataDir, 'gatehouse.db')}`, KEY_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEY, ISSUER: gh.issuer },
      'clients', 'create', '--json', JSON.stringify(metadata));
    assert.equal(run.code, 0, run.stderr);
    const client = JSON.parse(run.stdout) as { client_id: string; client_secret: string };

    const config = await oidc.discovery(new URL(gh.issuer), client.client_id, client.client_secret, undefined, { execute: [oidc.allowInsecureRequests] });
    // no resource parameter: gatehouse_default_resource names the management API
    const tokens = await oidc.clientCredentialsGrant(config, { scope: 'admin:users:read admin:clients:read' });
    const claims = JSON.parse(Buffer.from(tokens.access_token.split('.')[1]!, 'base64url').toString()) as { aud: string | string[] };
    assert.deepEqual([claims.aud].flat(), ['urn:gatehouse:admin']);

    const call = createAdminCaller(gh);
    const listed = await call('GET', '/clients', { token: tokens.access_token });
    assert.equal(listed.status, 200);
    assert.ok((listed.body.items as { client_id: string }[]).some((c) => c.client_id === client.client_id));
    // the token has only the scopes asked for
    assert.equal((await call('POST', '/users', { token: tokens.access_token, body: { email: 'x@example.com', password: 'a long enough passphrase here' } })).status, 403);
  });
});
