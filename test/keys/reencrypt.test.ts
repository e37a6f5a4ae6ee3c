/**
 * Rotating the key-encryption key (KEY_ENCRYPTION_KEYS) the way the README tells an operator to: add the new
 * key first, `gatehouse keys reencrypt`, drop the old key, restart. The real CLI runs against the store of a
 * real server; afterwards the server starts with the new key alone and every secret still works: the same
 * signing key, the client's old secret, the person's authenticator app.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as oidc from 'openid-client';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { storedTenantSettingsSchema } from '../../src/tenants/tenant-settings.js';
import { tenantConfig } from '../../src/tenants/tenant-config.js';
import { createAtRestCipher } from '../../src/keys/at-rest-cipher.js';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { runCli } from '../helpers/run-cli.js';
import { totpCode } from '../mfa/helpers.js';
import { createWebhookEndpoints } from '../../src/events/webhook-endpoints.js';
import { openSecrets } from '../../src/events/endpoint-secrets.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OLD = Buffer.alloc(32, 0xa1);
const NEW = Buffer.alloc(32, 0xb2);
const b64 = (k: Buffer) => k.toString('base64');
const API = 'https://ledger.example.test';

describe('gatehouse keys reencrypt: rotating KEY_ENCRYPTION_KEYS', function () {
  this.timeout(60_000);
  let gh: TestGatehouse;
  let databaseUrl: string;
  let client: { id: string; secret: string };
  let accountId: string;
  let totpSecret: string;
  let kids: string[];

  const cli = (keys: Buffer[], ...args: string[]) =>
    runCli({ DATABASE_URL: databaseUrl, ISSUER: gh.issuer, KEY_ENCRYPTION_KEYS: keys.map(b64).join(',') }, 'keys', ...args);
  const publishedKids = async () => ((await (await fetch(`${gh.issuer}/jwks`)).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
  /** RFC 6749 §4.4 with the client's secret, as a machine client would; the token verified as the API would. */
  async function clientCredentials(): Promise<string> {
    const rp = await oidc.discovery(new URL(gh.issuer), client.id, client.secret, undefined, { execute: [oidc.allowInsecureRequests] });
    const tokens = await oidc.clientCredentialsGrant(rp, { resource: API, scope: 'entries:read' });
    await jwtVerify(tokens.access_token, createRemoteJWKSet(new URL(`${gh.issuer}/jwks`)), { issuer: gh.issuer, audience: API });
    return decodeProtectedHeader(tokens.access_token).kid!;
  }
  const stored = () => gh.context.store.encryptedSecrets.list().then((all) => all.sort((a, b) => `${a.kind}:${a.id}`.localeCompare(`${b.kind}:${b.id}`)));

  let webhookSecret = '';
  before(async () => {
    gh = await bootGatehouse({ KEY_ENCRYPTION_KEYS: b64(OLD) });
    databaseUrl = `sqlite:${join(gh.dataDir, 'gatehouse.db')}`;
    await gh.context.resources.create({ identifier: API, name: 'Ledger', scopes: { 'entries:read': 'Read entries' }, accessTokenTtl: 300, permissionsFromRoles: false });
    const registered = await gh.context.clients.create({ client_name: 'Nightly job', grant_types: ['client_credentials'], response_types: [], redirect_uris: [], scope: 'entries:read' });
    client = { id: registered.client_id, secret: String(registered.client_secret) };
    const account = await gh.context.accounts.create({ email: 'ada@example.test', password: 'analytical engine notes', emailVerified: true });
    accountId = account.id;
    const totp = gh.context.factors.totp;
    totpSecret = (await totp.startEnrolment(accountId, account.email))!.secret;
    assert.equal(await totp.confirmEnrolment(accountId, await totpCode(totpSecret)), true);
    kids = await publishedKids();
    // a webhook endpoint's signing secrets (disabled: nothing is sent; a public address literal: no DNS)
    // a tenant: its own signing key, and federation settings holding a bind password, sealed at rest
    await gh.context.tenancy!.registry.create({ id: 'acme', name: 'Acme', settings: { federation: { ldap: [{
      id: 'corp', name: 'Corp', urls: ['ldap://127.0.0.1:9'], bindDn: 'cn=svc,dc=acme', bindPassword: 'the bind password', userBase: 'dc=acme',
      userFilter: '(mail={{login}})', claims: { email: 'mail' },
    }] } } });
    // an upstream provider of the default tenant written through the API: its sealed settings record
    await gh.context.identityProviders.create('ldap', {
      id: 'hq', name: 'HQ', urls: ['ldap://127.0.0.1:9'], bindDn: 'cn=svc,dc=hq', bindPassword: 'the default tenant bind password', userBase: 'dc=hq', userFilter: '(mail={{login}})', claims: { email: 'mail' },
    });
    webhookSecret = (await createWebhookEndpoints({ store: gh.context.store.webhooks, cipher: gh.context.cipher, privateHosts: [] }).create({ url: 'https://93.184.215.14/hooks', enabled: false })).secret;
  });
  after(() => gh?.close());

  it('re-encrypts every secret under the first key, while the server runs; a second run finds nothing to do', async () => {
    const before = await stored();
    assert.deepEqual(before.map((s) => s.kind), ['client-secret', 'signing-key', 'totp-secret', 'webhook-secret']);
    // step 1: every replica gets the new key first (it encrypts from now on; the old one still decrypts)
    await gh.restart({ KEY_ENCRYPTION_KEYS: [NEW, OLD].map(b64).join(',') });
    const signedWith = await clientCredentials();

    const run = await cli([NEW, OLD], 'reencrypt');
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), {
      'signing-key': { reencrypted: 1, already_current: 0, failed: 0 },
      'client-secret': { reencrypted: 1, already_current: 0, failed: 0 },
      'totp-secret': { reencrypted: 1, already_current: 0, failed: 0 },
      'webhook-secret': { reencrypted: 1, already_current: 0, failed: 0 },
      identity_providers: { reencrypted: 1, already_current: 0 },
      tenants: { tenants: 1, secrets_reencrypted: 1, federation_reencrypted: 1 },
    });
    assert.ok(createAtRestCipher([NEW]).isCurrent((await gh.context.store.settings.find('federation'))!.value), 'the default tenant\'s stored providers are under the new key');
    assert.match(run.lines.at(-1)!, /the others can be removed/);
    const sealed = async () => (storedTenantSettingsSchema.parse((await gh.context.tenancy!.registry.find('acme'))!.settings)).federation!.sealed;
    assert.ok(createAtRestCipher([NEW]).isCurrent(await sealed()), 'the tenant\'s federation settings are under the new key');
    for (const s of await gh.context.tenancy!.storeOf('acme').encryptedSecrets.list()) assert.ok(createAtRestCipher([NEW]).isCurrent(s.ciphertext), `acme's ${s.kind}`);
    const after = await stored();
    const onlyNew = createAtRestCipher([NEW]);
    assert.deepEqual(after.map((s) => [s.kind, s.id]), before.map((s) => [s.kind, s.id]));
    for (const s of after) assert.ok(onlyNew.isCurrent(s.ciphertext), `${s.kind} is under the new key`);
    for (const s of [...after, ...before]) assert.ok(!run.stdout.includes(s.ciphertext) && !run.stderr.includes(s.ciphertext));

    // the running server (decrypted keys by kid, client secrets cached by ciphertext) goes on as before
    assert.equal(await clientCredentials(), signedWith);
    assert.deepEqual(await publishedKids(), kids);

    const again = await cli([NEW, OLD], 'reencrypt');
    assert.equal(again.code, 0, again.stderr);
    const { tenants, identity_providers: providers, ...kinds } = JSON.parse(again.stdout) as Record<string, unknown>;
    assert.deepEqual(providers, { reencrypted: 0, already_current: 1 });
    assert.deepEqual(Object.values(kinds), [1, 1, 1, 1].map(() => ({ reencrypted: 0, already_current: 1, failed: 0 })));
    assert.deepEqual(tenants, { tenants: 1, secrets_reencrypted: 0, federation_reencrypted: 0 });
    assert.deepEqual(await stored(), after, 'idempotent: nothing rewritten');
  });

  it('then starts with the new key alone: the same JWKS, the old client secret, the same authenticator app', async () => {
    await gh.restart({ KEY_ENCRYPTION_KEYS: b64(NEW) });
    assert.deepEqual(await publishedKids(), kids);
    assert.equal(await clientCredentials(), kids[0]);
    assert.equal(await gh.context.factors.totp.verify(accountId, await totpCode(totpSecret, 1)), true);
    const [endpoint] = await gh.context.store.webhooks.listEndpoints();
    assert.equal(openSecrets(gh.context.cipher, endpoint!.secretsCiphertext)[0]!.secret, webhookSecret, 'the webhook signs with the same secret');
    const acme = (await gh.context.tenancy!.registry.find('acme'))!;
    assert.equal(tenantConfig(gh.context.config, acme, gh.context.tenancy!.openSealed).FEDERATION_FILE?.ldap[0]?.bindPassword, 'the bind password');
  });

  it('with the old key alone, `gatehouse` refuses to start in one line naming KEY_ENCRYPTION_KEYS, and changes nothing', async () => {
    const rows = await stored();
    const keys = await gh.context.store.signingKeys.list();
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '', NODE_ENV: 'test', HOST: '127.0.0.1', PORT: '0', ISSUER: gh.issuer, DATABASE_URL: databaseUrl,
        KEY_ENCRYPTION_KEYS: b64(OLD), BCRYPT_COST: '4', LOG_LEVEL: 'silent',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    const [code] = (await once(child, 'exit')) as [number];
    clearTimeout(timer);
    assert.equal(code, 1);
    const ours = stderr.split('\n').filter((line) => line.startsWith('gatehouse:'));
    assert.equal(ours.length, 1, stderr);
    assert.match(ours[0]!, /^gatehouse: failed to start: signing key \S+: .*KEY_ENCRYPTION_KEYS/);
    assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
    assert.deepEqual(await stored(), rows);
    assert.deepEqual(await gh.context.store.signingKeys.list(), keys);
  });

  it('reports a value no configured key decrypts by kind and id, exits 1 and leaves it as it is', async () => {
    const lost = createAtRestCipher([Buffer.alloc(32, 0xc3)]).encrypt('JBSWY3DPEHPK3PXP');
    await gh.context.store.factors.saveTotp({ accountId: 'acct-lost', secretCiphertext: lost, confirmedAt: 1, lastUsedStep: null, createdAt: 1 });
    try {
      const run = await cli([NEW], 'reencrypt');
      assert.equal(run.code, 1);
      assert.deepEqual(JSON.parse(run.stdout), {
        'signing-key': { reencrypted: 0, already_current: 1, failed: 0 },
        'client-secret': { reencrypted: 0, already_current: 1, failed: 0 },
        'totp-secret': { reencrypted: 0, already_current: 1, failed: 1 },
        'webhook-secret': { reencrypted: 0, already_current: 1, failed: 0 },
        identity_providers: { reencrypted: 0, already_current: 1 },
        tenants: { tenants: 1, secrets_reencrypted: 0, federation_reencrypted: 0 },
      });
      assert.ok(run.lines.some((l) => /^gatehouse: totp-secret acct-lost was left as it is: .*KEY_ENCRYPTION_KEYS/.test(l)), run.stderr);
      assert.match(run.lines.at(-1)!, /^gatehouse: 1 value\(s\) could not be re-encrypted/);
      assert.ok(!run.stderr.includes('JBSWY3DPEHPK3PXP') && !run.stderr.includes(lost));
      assert.equal((await gh.context.store.factors.findTotp('acct-lost'))?.secretCiphertext, lost);
    } finally {
      await gh.context.store.factors.deleteTotp('acct-lost');
    }
  });
});
