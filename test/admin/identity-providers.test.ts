/**
 * /admin/v1/identity-providers: the federation file's providers as the management API shows them, and
 * never their secrets (an auditor's token reads them, so a secret there would leak to every auditor).
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { createAdminCaller, managementToken } from './admin-client.js';

const SECRET = 'client-secret-that-must-never-be-shown-0123456789';

describe('management API: identity providers (read-only, from FEDERATION_FILE)', function () {
  this.timeout(60_000);
  let gh: TestGatehouse;
  let work: string;
  let call: ReturnType<typeof createAdminCaller>;
  let token: string;
  const pem = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'gatehouse-idps-'));
    const keyFile = join(work, 'rp-key.pem');
    await writeFile(keyFile, pem);
    const file = join(work, 'federation.json');
    await writeFile(file, JSON.stringify({
      oidc: {
        providers: [
          {
            id: 'acme', name: 'Acme SSO', issuer: 'https://sso.acme.test', clientId: 'gatehouse', clientSecret: SECRET,
            domains: ['acme.test'], emailVerified: true, claims: { email: 'mail', groups: 'member_of' }, roles: {}, trustUpstreamMfa: true,
          },
          { id: 'partner', name: 'Partner', issuer: 'https://partner.test', clientId: 'gh', clientAuth: 'private_key_jwt', privateKeyFile: keyFile, domains: ['partner.test'] },
          {
            id: 'github', preset: 'github', clientId: 'gh-app', clientSecret: SECRET, emailDomains: ['octo.test'], linkExistingAccounts: true,
          },
        ],
      },
    }));
    gh = await bootGatehouse({ FEDERATION_FILE: file });
    call = createAdminCaller(gh);
    token = await managementToken(gh, 'admin:federation:read');
  });
  after(async () => {
    await gh?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('lists every provider with its protocol, domains, linking rule and client authentication method', async () => {
    const res = await call('GET', '/identity-providers', { token });
    assert.equal(res.status, 200);
    const items = res.body.items as { id: string; protocol: string; domains: string[]; link_existing_accounts: boolean; settings: Record<string, unknown>; source: string }[];
    assert.deepEqual(items.map((p) => [p.id, p.protocol]), [['acme', 'oidc'], ['partner', 'oidc'], ['github', 'oauth2']]);
    const acme = items[0]!;
    assert.deepEqual(acme.domains, ['acme.test']);
    assert.equal(acme.settings.client_auth_method, 'client_secret_basic');
    assert.equal(acme.settings.trust_upstream_mfa, true);
    assert.equal(items[1]!.settings.client_auth_method, 'private_key_jwt');
    assert.equal(items[2]!.link_existing_accounts, true);
    assert.equal(acme.source, 'federation-file');
  });

  it('never shows a client secret or a private key, in the list or one by one', async () => {
    const answers = [await call('GET', '/identity-providers', { token })];
    for (const id of ['acme', 'partner', 'github']) answers.push(await call('GET', `/identity-providers/${id}`, { token }));
    for (const a of answers) {
      assert.equal(a.status, 200);
      const text = JSON.stringify(a.body);
      assert.ok(!text.includes(SECRET), 'no client secret');
      assert.ok(!text.includes('PRIVATE KEY') && !text.includes(pem.split('\n')[1]!), 'no private key');
      assert.ok(!/"(client_?secret|secret|private_?key|bind_?password)"/i.test(text), `no secret-named field in ${text}`);
    }
  });

  it('an unknown id (or another letter case of a known one) is a 404 problem', async () => {
    for (const id of ['nobody', 'ACME', 'acme%20']) {
      const res = await call('GET', `/identity-providers/${id}`, { token });
      assert.equal(res.status, 404);
      assert.equal(res.body.type, 'urn:gatehouse:problem:not-found');
    }
  });

  it('another area\'s read scope does not read them', async () => {
    const other = await managementToken(gh, 'admin:users:read');
    const res = await call('GET', '/identity-providers', { token: other });
    assert.equal(res.status, 403);
    assert.equal(res.body.scope, 'admin:federation:read');
  });
});
