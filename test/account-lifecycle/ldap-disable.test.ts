/**
 * Issue 13: a disabled account linked to an LDAP directory does not sign in with its (right) directory
 * password, and the page says what a wrong password says; enabled again, it signs in. Unlock lifts the
 * lockout of its directory entry too (logins with the directory username count under the DN). Real slapd,
 * one for both stores (SQLite, and PostgreSQL + Redis).
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as oidc from 'openid-client';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { UserAgent, signIn, formAction, type Page } from '../helpers/user-agent.js';
import { DIRECTORY_FIXTURE, startSlapd, type SlapdService } from '../helpers/services/slapd.js';
import { DEFAULT_SCOPE } from '../../src/accounts/account-lifecycle.js';
import { STORES } from '../admin/stores.js';
import { createAdminCaller, managementToken } from '../admin/admin-client.js';

const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const WRONG = 'The email or password is incorrect.';

describe('account lifecycle: directory accounts (real slapd)', function () {
  this.timeout(60_000);
  let slapd: SlapdService;
  let work: string;
  let file: string;
  before(async () => {
    slapd = await startSlapd({ ldif: await readFile(DIRECTORY_FIXTURE, 'utf8') });
    work = await mkdtemp(join(tmpdir(), 'gatehouse-ldap-lifecycle-'));
    file = join(work, 'federation.json');
    await writeFile(file, JSON.stringify({
      // ldapOrder: a login that is no email (the directory username) is looked for in this directory
      ldapOrder: ['corp'],
      ldap: [{
        id: 'corp', name: 'Example Corp directory', urls: [slapd.url], domains: ['example.org'],
        bindDn: slapd.bindDn, bindPassword: slapd.bindPassword, userBase: 'ou=people,dc=example,dc=org',
        userFilter: '(&(objectClass=inetOrgPerson)(|(uid={{localPart}})(mail={{login}})))',
        claims: { email: 'mail', name: 'cn' }, emailVerified: true, connectTimeout: '2s',
      }],
    }));
  });
  after(async () => {
    await slapd?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

for (const store of STORES) {
describe(`on ${store.name}`, () => {
  let services: Awaited<ReturnType<typeof store.start>>;
  let gh: TestGatehouse;
  let rp: oidc.Configuration;
  const by = { via: 'test' };

  before(async () => {
    services = await store.start();
    gh = await bootGatehouse({ ...services.env, FEDERATION_FILE: file, LOGIN_MAX_FAILURES_PER_ACCOUNT: '3' });
    const client = await gh.context.clients.create({
      client_name: 'Directory RP', redirect_uris: [REDIRECT_URI], grant_types: ['authorization_code'], token_endpoint_auth_method: 'client_secret_basic',
    });
    rp = await oidc.discovery(new URL(gh.issuer), client.client_id, String(client.client_secret), undefined, { execute: [oidc.allowInsecureRequests] });
  });
  after(async () => {
    await gh?.close();
    await services?.stop();
  });

  async function authorization() {
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(rp, {
      redirect_uri: REDIRECT_URI, scope: 'openid email', prompt: 'login consent',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    });
    return { url: url.href, verifier };
  }

  async function subFor(email: string, password: string) {
    const { url, verifier } = await authorization();
    const callback = await signIn(new UserAgent(), url, REDIRECT_URI, { email, password });
    return String((await oidc.authorizationCodeGrant(rp, new URL(callback), { pkceCodeVerifier: verifier })).claims()!.sub);
  }

  async function tryLogin(email: string, password: string): Promise<Page> {
    const agent = new UserAgent();
    const page = await agent.open((await authorization()).url);
    return agent.submit(page, formAction(page.html, /\/login$/), { email, password }, (u) => u.startsWith(REDIRECT_URI));
  }

  it('refuses the right directory password as if it were wrong, and signs in again once enabled', async () => {
    const sub = await subFor('alice@example.org', 'alice-password');
    await gh.context.accountLifecycle.disable({ scope: DEFAULT_SCOPE, account: { id: sub }, by });
    const right = await tryLogin('alice@example.org', 'alice-password');
    const wrong = await tryLogin('alice@example.org', 'not-alices-password');
    for (const page of [right, wrong]) {
      assert.equal(page.status, 401);
      assert.ok(page.html.includes(WRONG), page.html.slice(0, 300));
    }
    const account = await gh.context.store.accounts.findById(sub);
    assert.ok(account?.disabledAt, 'the login did not re-enable or refresh it');
    await gh.context.accountLifecycle.enable({ scope: DEFAULT_SCOPE, account: { id: sub }, by });
    assert.equal(await subFor('alice@example.org', 'alice-password'), sub);
  });

  /** Past the login prompt: at the consent prompt (prompt=consent) or back at the app. */
  const passedLogin = (page: Page) => page.status === 200 && (page.url.startsWith(REDIRECT_URI) || page.html.includes('/consent"'));

  it('unlock lifts the lockout of the directory entry (logins by username), not only the account id', async () => {
    const sub = await subFor('bob@example.org', 'bob-password'); // the account and its link to uid=bob
    for (let i = 0; i < 3; i++) assert.equal((await tryLogin('bob', `not bobs password ${i}`)).status, 401);
    const locked = await tryLogin('bob', 'bob-password');
    assert.equal(locked.status, 429, 'the directory entry is locked out, even with the right password');
    const token = await managementToken(gh, 'admin:users:write');
    const unlocked = await createAdminCaller(gh)('POST', `/users/${sub}/unlock`, { token });
    assert.equal(unlocked.status, 200);
    const after = await tryLogin('bob', 'bob-password');
    assert.ok(passedLogin(after), `signs in with the username after unlock: ${after.status} ${after.url}`);
  });

  it('unlock leaves the lockout of another directory entry alone', async () => {
    const carol = await subFor('carol@example.org', 'carol-password');
    for (let i = 0; i < 3; i++) await tryLogin('alice', `not alices password ${i}`);
    assert.equal((await tryLogin('alice', 'alice-password')).status, 429);
    await gh.context.accountLifecycle.unlock({ scope: DEFAULT_SCOPE, account: { id: carol }, by });
    assert.equal((await tryLogin('alice', 'alice-password')).status, 429, "carol's unlock is not alice's");
    const alice = await gh.context.store.accounts.findByEmail('alice@example.org');
    await gh.context.accountLifecycle.unlock({ scope: DEFAULT_SCOPE, account: { id: alice!.id }, by });
    assert.ok(passedLogin(await tryLogin('alice', 'alice-password')));
  });
});
}
});
