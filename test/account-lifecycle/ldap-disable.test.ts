/**
 * Issue 13: a disabled account linked to an LDAP directory does not sign in with its (right) directory
 * password, and the page says what a wrong password says; enabled again, it signs in. Real slapd.
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

const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const WRONG = 'The email or password is incorrect.';

describe('account lifecycle: a disabled directory account (real slapd)', function () {
  this.timeout(60_000);
  let slapd: SlapdService;
  let gh: TestGatehouse;
  let rp: oidc.Configuration;
  let work: string;
  const by = { via: 'test' };

  before(async () => {
    slapd = await startSlapd({ ldif: await readFile(DIRECTORY_FIXTURE, 'utf8') });
    work = await mkdtemp(join(tmpdir(), 'gatehouse-ldap-lifecycle-'));
    const file = join(work, 'federation.json');
    await writeFile(file, JSON.stringify({
      ldap: [{
        id: 'corp', name: 'Example Corp directory', urls: [slapd.url], domains: ['example.org'],
        bindDn: slapd.bindDn, bindPassword: slapd.bindPassword, userBase: 'ou=people,dc=example,dc=org',
        userFilter: '(&(objectClass=inetOrgPerson)(|(uid={{localPart}})(mail={{login}})))',
        claims: { email: 'mail', name: 'cn' }, emailVerified: true, connectTimeout: '2s',
      }],
    }));
    gh = await bootGatehouse({ FEDERATION_FILE: file });
    const client = await gh.context.clients.create({
      client_name: 'Directory RP', redirect_uris: [REDIRECT_URI], grant_types: ['authorization_code'], token_endpoint_auth_method: 'client_secret_basic',
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
});
