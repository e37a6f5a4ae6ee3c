/**
 * Directory logins (real slapd) under the login throttle (issue 10 items 3, 4): one counter per
 * directory entry, found by the directory's own search, whatever the person typed (uid, email, other
 * letter case, surrounding whitespace); and a known directory person and an unknown login answer alike
 * across the lockout boundary.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as oidc from 'openid-client';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { UserAgent, formAction, type Page } from '../helpers/user-agent.js';
import { DIRECTORY_FIXTURE, startSlapd, type SlapdService } from '../helpers/services/slapd.js';

const REDIRECT_URI = 'http://127.0.0.1:9/callback';

describe('security: directory logins count per directory entry (real slapd)', function () {
  this.timeout(90_000);
  let slapd: SlapdService;
  let gh: TestGatehouse;
  let rp: oidc.Configuration;
  let work: string;

  before(async () => {
    slapd = await startSlapd({ ldif: await readFile(DIRECTORY_FIXTURE, 'utf8') });
    work = await mkdtemp(join(tmpdir(), 'gatehouse-ldap-lockout-'));
    const file = join(work, 'federation.json');
    await writeFile(file, JSON.stringify({
      ldap: [{
        id: 'corp', name: 'Example Corp directory', urls: [slapd.url], domains: ['example.org'],
        bindDn: slapd.bindDn, bindPassword: slapd.bindPassword,
        userBase: 'ou=people,dc=example,dc=org',
        userFilter: '(&(objectClass=inetOrgPerson)(|(uid={{localPart}})(mail={{login}})))',
        claims: { email: 'mail', name: 'cn' }, emailVerified: true,
      }],
      ldapOrder: ['corp'],
    }));
    gh = await bootGatehouse({ FEDERATION_FILE: file, LOGIN_MAX_FAILURES_PER_ACCOUNT: '3', LOGIN_MAX_FAILURES_PER_IP: '100000' });
    const client = await gh.context.clients.create({ client_name: 'Directory RP', redirect_uris: [REDIRECT_URI], grant_types: ['authorization_code'] });
    rp = await oidc.discovery(new URL(gh.issuer), client.client_id, String(client.client_secret), undefined, { execute: [oidc.allowInsecureRequests] });
  });
  after(async () => {
    await gh?.close();
    await slapd?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  async function tryLogin(email: string, password: string): Promise<Page> {
    const agent = new UserAgent();
    const url = oidc.buildAuthorizationUrl(rp, {
      redirect_uri: REDIRECT_URI, scope: 'openid email', code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()), code_challenge_method: 'S256',
    });
    const page = await agent.open(url.href);
    return agent.submit(page, formAction(page.html, /\/login$/), { email, password }, (u) => u.startsWith(REDIRECT_URI));
  }

  it('the uid, the email, other letter case and whitespace of one person share one counter', async () => {
    const typed = ['carol', 'CAROL@example.org', ' carol@Example.ORG '];
    for (const login of typed) assert.equal((await tryLogin(login, 'not carol\'s password')).status, 401, login);
    // the limit (3) is reached: every spelling is refused before the directory checks the password
    for (const login of ['carol', 'carol@example.org', 'Carol']) {
      const page = await tryLogin(login, 'carol-password');
      assert.equal(page.status, 429, `${login} has no fresh counter`);
    }
    // another person of the directory is not affected
    assert.notEqual((await tryLogin('bob', 'bob-password')).status, 429);
  });

  it('a known directory person and an unknown login answer alike across the lockout boundary', async () => {
    const shape = (p: Page) => ({ status: p.status, retryAfter: p.headers.get('retry-after') !== null });
    for (let i = 0; i < 6; i++) {
      const known = await tryLogin('alice@example.org', `guess ${i}`);
      const unknown = await tryLogin('nobody-here@example.org', `guess ${i}`);
      assert.deepEqual(shape(known), shape(unknown), `attempt ${i}`);
      assert.equal(known.status, i < 3 ? 401 : 429, `attempt ${i}`);
    }
  });
});
