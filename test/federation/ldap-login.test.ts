/**
 * LDAP directories as a password realm, against a real OpenLDAP slapd (test/helpers/services/slapd.ts,
 * directory test/fixtures/ldap/directory.ldif): search with a service bind, bind as the person, groups
 * from memberOf (groupOfNames) and posixGroup mapped to roles in the ID token, just-in-time accounts
 * linked by entryUUID, failover, home-realm discovery by domain and ordered directories, and a directory
 * that goes down while local accounts keep working.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as oidc from 'openid-client';
import { seedApi, seedRole } from '../helpers/roles.js';
import { DEFAULT_SCOPE } from '../../src/accounts/account-lifecycle.js';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { UserAgent, signIn, formAction, type Page } from '../helpers/user-agent.js';
import { DIRECTORY_FIXTURE, startSlapd, type SlapdService } from '../helpers/services/slapd.js';
import { freePort } from '../helpers/services/free-port.js';
import { runCommand } from '../helpers/services/process-handle.js';

const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const WRONG = 'The email or password is incorrect.';
const GROUPS = 'ou=groups,dc=example,dc=org';
const DIRECTORY_API = 'https://directory.example.test';

describe('LDAP directories (real slapd)', function () {
  this.timeout(60_000);
  let slapd: SlapdService;
  let gh: TestGatehouse;
  let rp: oidc.Configuration;
  let work: string;
  const local = { email: 'ada@example.test', password: 'correct horse battery staple' };

  before(async () => {
    slapd = await startSlapd({ ldif: await readFile(DIRECTORY_FIXTURE, 'utf8') });
    work = await mkdtemp(join(tmpdir(), 'gatehouse-ldap-test-'));
    const deadUrl = `ldap://127.0.0.1:${await freePort()}`; // nothing listens: failover must skip it
    const directory = (id: string, name: string, extra: Record<string, unknown>) => ({
      id, name,
      bindDn: slapd.bindDn, bindPassword: slapd.bindPassword,
      userBase: 'ou=people,dc=example,dc=org',
      userFilter: '(&(objectClass=inetOrgPerson)(|(uid={{localPart}})(mail={{login}})))',
      claims: { email: 'mail', name: 'cn' },
      emailVerified: true,
      groups: { memberOf: true, base: GROUPS, posixGroup: true },
      roles: {
        [`cn=admins,${GROUPS}`]: ['admin'],
        // DNs compare the way directories compare them: case and spaces after commas do not matter
        [`CN=Staff, ${GROUPS}`]: ['staff'],
        [`cn=developers,${GROUPS}`]: ['developer'],
      },
      connectTimeout: '2s',
      ...extra,
    });
    const file = join(work, 'federation.json');
    await writeFile(file, JSON.stringify({
      ldap: [
        directory('corp', 'Example Corp directory', { urls: [deadUrl, slapd.url], domains: ['example.org'] }),
        directory('lab', 'Lab directory', { urls: [slapd.url] }),
      ],
      ldapOrder: ['lab'],
    }));
    // the file's group mappings must name role records (issue 14): they exist before start-up
    gh = await bootGatehouse({ FEDERATION_FILE: file }, {
      async seed(store) {
        await seedApi(store, DIRECTORY_API, ['directory:admin']);
        await seedRole(store, 'admin', [{ resource: DIRECTORY_API, scope: 'directory:admin' }]);
        for (const name of ['staff', 'developer']) await seedRole(store, name);
      },
    });
    await gh.context.accounts.create({ ...local, emailVerified: true });
    const client = await gh.context.clients.create({
      client_name: 'Directory RP', redirect_uris: [REDIRECT_URI], grant_types: ['authorization_code'], token_endpoint_auth_method: 'client_secret_basic',
      scope: 'openid email profile roles directory:admin',
    });
    rp = await oidc.discovery(new URL(gh.issuer), client.client_id, String(client.client_secret), undefined, { execute: [oidc.allowInsecureRequests] });
  });
  after(async () => {
    await gh?.close();
    await slapd?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  async function authorization() {
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(rp, {
      redirect_uri: REDIRECT_URI, scope: 'openid email profile roles', prompt: 'login consent',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    });
    return { url: url.href, verifier };
  }

  async function idTokenFor(email: string, password: string) {
    const { url, verifier } = await authorization();
    const callback = await signIn(new UserAgent(), url, REDIRECT_URI, { email, password });
    const tokens = await oidc.authorizationCodeGrant(rp, new URL(callback), { pkceCodeVerifier: verifier });
    return tokens.claims()!;
  }

  /** Submits the login form and returns the page that comes back (a refused login re-renders it). */
  async function tryLogin(email: string, password: string): Promise<Page> {
    const agent = new UserAgent();
    const page = await agent.open((await authorization()).url);
    return agent.submit(page, formAction(page.html, /\/login$/), { email, password }, (u) => u.startsWith(REDIRECT_URI));
  }

  async function ldapModify(ldif: string) {
    const file = join(work, 'modify.ldif');
    await writeFile(file, ldif);
    await runCommand('ldapmodify', ['-x', '-H', slapd.url, '-D', slapd.bindDn, '-w', slapd.bindPassword, '-f', file]);
  }

  it('signs alice in with her directory password; groupOfNames (memberOf) groups become roles in the ID token', async () => {
    const accountsBefore = await gh.context.store.accounts.count();
    const claims = await idTokenFor('alice@example.org', 'alice-password');
    assert.equal(claims.email, 'alice@example.org');
    assert.equal(claims.email_verified, true);
    assert.equal(claims.name, 'Alice Anderson');
    assert.deepEqual(claims.roles, ['admin', 'staff']);
    assert.equal(claims.acr, 'urn:gatehouse:acr:password');
    assert.deepEqual(claims.amr, ['pwd']);
    assert.equal(await gh.context.store.accounts.count(), accountsBefore + 1, 'provisioned just in time');

    // linked by (directory, entryUUID): the next login finds the same account, updated; no password is stored
    // the directory changes: her name, and she joins the developers; the next login brings both over
    await ldapModify(
      `dn: uid=alice,ou=people,dc=example,dc=org\nchangetype: modify\nreplace: cn\ncn: Alice Arden\n\n` +
      `dn: cn=developers,${GROUPS}\nchangetype: modify\nadd: memberUid\nmemberUid: alice\n`,
    );
    const second = await idTokenFor('alice@example.org', 'alice-password');
    assert.equal(second.sub, claims.sub);
    assert.equal(second.name, 'Alice Arden');
    assert.deepEqual(second.roles, ['admin', 'developer', 'staff']);
    const links = await gh.context.store.federation.linksOf(String(claims.sub));
    assert.deepEqual(links.map((l) => l.providerId), ['corp']);
    assert.match(links[0]!.externalId, /^[0-9a-f-]{36}$/, 'entryUUID');
    assert.equal((await gh.context.store.accounts.findById(String(claims.sub)))!.passwordHash, null);
  });

  it('maps posixGroup membership (memberUid) for bob', async () => {
    const claims = await idTokenFor('bob@example.org', 'bob-password');
    assert.deepEqual(claims.roles, ['developer', 'staff']);
  });

  it('the admins group maps to the role admin, whose permission lands in the access token; bob, not in the group, gets none (issue 14)', async () => {
    const scopeFor = async (email: string, password: string) => {
      const verifier = oidc.randomPKCECodeVerifier();
      const url = oidc.buildAuthorizationUrl(rp, {
        redirect_uri: REDIRECT_URI, scope: 'openid directory:admin', resource: DIRECTORY_API, prompt: 'login consent',
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
      });
      const callback = await signIn(new UserAgent(), url.href, REDIRECT_URI, { email, password });
      return (await oidc.authorizationCodeGrant(rp, new URL(callback), { pkceCodeVerifier: verifier }, { resource: DIRECTORY_API })).scope ?? '';
    };
    assert.equal(await scopeFor('alice@example.org', 'alice-password'), 'directory:admin');
    assert.equal(await scopeFor('bob@example.org', 'bob-password'), '');
  });

  it('a mapping removed from the file counts no more, before the person signs in again', async () => {
    const alice = (await gh.context.accounts.findByEmail('alice@example.org'))!;
    const rolesNow = async () => (await gh.context.accountLifecycle.show({ scope: DEFAULT_SCOPE, account: { id: alice.id } })).roles;
    assert.ok((await rolesNow()).includes('admin'));
    const file = join(work, 'federation.json');
    const config = JSON.parse(await readFile(file, 'utf8')) as { ldap: { roles: Record<string, string[]> }[] };
    for (const d of config.ldap) delete d.roles[`cn=admins,${GROUPS}`];
    await writeFile(file, JSON.stringify(config));
    await gh.restart({ FEDERATION_FILE: file });
    assert.deepEqual(await rolesNow(), ['developer', 'staff']);
    assert.ok((await gh.context.roles.find('admin')), 'the role itself stays');
  });

  it('refuses a wrong password and an unknown person with the same answer, and creates no account', async () => {
    const before = await gh.context.store.accounts.count();
    for (const [email, password] of [['alice@example.org', 'not-her-password'], ['nobody@example.org', 'whatever-password'], ['alice@example.org', '']]) {
      const page = await tryLogin(email!, password!);
      assert.equal(page.status, 401, `${email}: ${page.status}`);
      assert.ok(page.html.includes(WRONG), page.html);
    }
    // filter injection stays a value: "*" matches nobody
    const star = await tryLogin('*@example.org', 'alice-password');
    assert.equal(star.status, 401);
    assert.equal(await gh.context.store.accounts.count(), before);
  });

  it('tries ordered directories after local accounts, and never lets one directory assert another\'s domain', async () => {
    // "carol" has no domain: local accounts first (none), then ldapOrder: the lab directory, which asserts
    // carol@example.org, a domain the corp directory owns (issue 10 item 7): refused, nothing claimed
    const page = await tryLogin('carol', 'carol-password');
    assert.equal(page.status, 403);
    assert.match(page.html, /Lab directory signed you in with an email address it does not manage here/);
    assert.equal(await gh.context.store.accounts.findByEmail('carol@example.org'), undefined);
    // through the domain's owner she signs in
    const carol = await idTokenFor('carol@example.org', 'carol-password');
    assert.equal(carol.email, 'carol@example.org');
    // local accounts are checked before any directory
    assert.equal((await idTokenFor(local.email, local.password)).email, local.email);
  });

  it('says plainly when the directory is down, and local accounts still sign in', async () => {
    await slapd.stop();
    const page = await tryLogin('alice@example.org', 'alice-password');
    assert.equal(page.status, 503);
    assert.match(page.html, /Example Corp directory cannot be reached right now/);
    assert.ok(!page.html.includes(WRONG));
    const ordered = await tryLogin('carol', 'carol-password');
    assert.equal(ordered.status, 503);
    assert.match(ordered.html, /Lab directory cannot be reached right now/);
    // a local account is checked first and never waits for the directory
    const started = Date.now();
    const claims = await idTokenFor(local.email, local.password);
    assert.equal(claims.email, local.email);
    assert.ok(Date.now() - started < 5000);
  });
});
