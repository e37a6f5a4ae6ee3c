/**
 * The federation file's `oidc` section (issue 17): defaults, presets, and the start-up refusals that
 * name the key, the value and what is accepted.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { readFederationFile } from '../../src/config/federation/federation-file.js';
import { FederationFileError } from '../../src/config/federation/checks.js';
import { rolesMappedBy } from '../../src/roles/federation-mappings.js';

describe('FEDERATION_FILE oidc section', () => {
  let work: string;
  let n = 0;
  let ecKey: string;
  let rsaKey: string;
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'gatehouse-oidc-config-'));
    ecKey = join(work, 'apple.p8');
    rsaKey = join(work, 'rsa.pem');
    await writeFile(ecKey, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
    await writeFile(rsaKey, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
  });
  after(() => rm(work, { recursive: true, force: true }));

  async function read(file: unknown) {
    const path = join(work, `f${++n}.json`);
    await writeFile(path, JSON.stringify(file));
    return readFederationFile(path);
  }
  const provider = (p: Record<string, unknown>) => ({ oidc: { providers: [{ id: 'up', name: 'Up', clientId: 'c', clientSecret: 's', ...p }] } });
  async function refused(file: unknown, path: RegExp, accepted: RegExp) {
    await assert.rejects(read(file), (err: unknown) => {
      assert.ok(err instanceof FederationFileError, String(err));
      assert.match(err.path, path);
      assert.match(err.message, accepted);
      assert.ok(!err.message.includes('"s"'), 'the secret is never shown');
      return true;
    });
  }

  it('reads a generic provider with its defaults', async () => {
    const config = await read(provider({ issuer: 'https://idp.example.test', roles: { staff: ['staff'] }, claims: { groups: 'groups' }, domains: ['example.test'] }));
    const [up] = config.oidc.providers;
    assert.equal(up!.protocol, 'oidc');
    assert.deepEqual(up!.scopes, ['openid', 'email', 'profile']);
    assert.deepEqual(up!.claims, { subject: 'sub', email: 'email', email_verified: 'email_verified', name: 'name', groups: 'groups' });
    assert.deepEqual(up!.auth, { method: 'client_secret_basic', secret: 's' });
    assert.equal(up!.linkExistingAccounts, false);
    assert.equal(up!.trustUpstreamMfa, false);
    assert.equal(config.domainOwners.get('example.test'), 'up');
    assert.equal(rolesMappedBy(config).get('staff'), 'up', 'start-up checks the roles an OIDC upstream maps');
  });

  it('fills in the presets, and lets the entry override them', async () => {
    const config = await read({
      oidc: {
        providers: [
          { id: 'google', preset: 'google', clientId: 'g', clientSecret: 's' },
          { id: 'entra', preset: 'microsoft', clientId: 'm', clientSecret: 's' },
          { id: 'contoso', preset: 'microsoft', tenant: '72f988bf-86f1-41af-91ab-2d7cd011db47', clientId: 'm', clientSecret: 's' },
          { id: 'github', preset: 'github', clientId: 'gh', clientSecret: 's', claims: { name: 'login' } },
          { id: 'apple', preset: 'apple', clientId: 'com.example.web', teamId: 'ABCDE12345', keyId: 'KEY1234567', privateKeyFile: ecKey },
        ],
      },
    });
    const [google, entra, contoso, github, apple] = config.oidc.providers;
    assert.equal(google!.issuer, 'https://accounts.google.com');
    assert.equal(entra!.issuer, 'https://login.microsoftonline.com/organizations/v2.0');
    assert.equal(entra!.multiTenant, true);
    assert.equal(entra!.emailVerified, false, "Entra's email claim is not verified unless the operator says so");
    assert.equal(contoso!.multiTenant, false);
    assert.equal(github!.protocol, 'oauth2');
    assert.equal(github!.endpoints.emails, 'https://api.github.com/user/emails');
    assert.equal(github!.claims.subject, 'id', "the preset's claims stay, key by key");
    assert.equal(github!.claims.name, 'login');
    assert.equal(apple!.responseMode, 'form_post');
    assert.equal(apple!.auth.method, 'apple_client_secret_jwt');
  });

  it('refuses what would weaken or break a sign-in, naming the key', async () => {
    await refused(provider({ issuer: 'http://idp.example.test' }), /oidc\.providers\[0\]\.issuer/, /only loopback hosts may use http/);
    await refused(provider({ issuer: 'https://idp.example.test', clientSecretTypo: 'x' }), /clientSecretTypo/, /unknown key/);
    await refused({ oidc: { providers: [{ id: 'g', preset: 'google', clientId: 'x', clientSecret: 's', scope: ['openid'] }] } }, /scope$/, /unknown key/);
    await refused(provider({ issuer: 'https://idp.example.test', roles: { a: ['b'] } }), /claims/, /"groups" claim/);
    await refused(provider({ protocol: 'oauth2', issuer: 'https://idp.example.test' }), /issuer/, /name the endpoints/);
    await refused(provider({ issuer: 'https://idp.example.test', tenants: ['t'] }), /tenants/, /multiTenant/);
    await refused({ oidc: { providers: [{ id: 'apple', preset: 'apple', clientId: 'x', teamId: 'ABCDE12345', keyId: 'K', privateKeyFile: rsaKey }] } }, /privateKeyFile/, /EC \(P-256\)/);
    await refused({ oidc: { providers: [{ id: 'apple', preset: 'apple', clientId: 'x', keyId: 'K', privateKeyFile: ecKey }] } }, /teamId/, /Team ID/);
    await refused({ oidc: { providers: [{ id: 'x', preset: 'okta', clientId: 'x' }] } }, /preset/, /google, microsoft, github, apple/);
    // one owner per email domain, across LDAP, SAML and OIDC
    await refused({
      oidc: { providers: [{ id: 'a', name: 'A', issuer: 'https://a.example.test', clientId: 'c', clientSecret: 's', domains: ['x.test'] }, { id: 'b', name: 'B', issuer: 'https://b.example.test', clientId: 'c', clientSecret: 's', domains: ['x.test'] }] },
    }, /oidc\.providers\[1\]\.domains/, /a has it/);
  });
});
