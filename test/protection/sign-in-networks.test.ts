/**
 * Sign-in only from allowed networks (SIGN_IN_ALLOWED_IP_RANGES, a tenant's allowedIpRanges) and
 * self-registration only for allowed email domains (REGISTRATION_EMAIL_DOMAINS), tried the way an
 * attacker would: a forged X-Forwarded-For entry, an existing session carried to another network, a
 * domain in other letter case or as a look-alike subdomain.
 */
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { formAction, signIn, UserAgent } from '../helpers/user-agent.js';

const insecure = { execute: [oidc.allowInsecureRequests] };
const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const PERSON = { email: 'ada@example.com', password: 'the analytical engine weaves' };
const atClient = (u: string) => u.startsWith(REDIRECT_URI);

describe('sign-in networks and registration domains', () => {
  let gh: TestGatehouse;
  let rp: oidc.Configuration;

  before(async () => {
    // one trusted proxy in front: the last X-Forwarded-For entry is the client it saw
    gh = await bootGatehouse({
      TRUST_PROXY: 'true', TRUST_PROXY_HOPS: '1', SIGN_IN_ALLOWED_IP_RANGES: '10.0.0.0/8, 2001:db8::/32',
      REGISTRATION_ENABLED: 'true', REGISTRATION_EMAIL_DOMAINS: 'example.com',
    });
    const client = await gh.context.clients.create({ redirect_uris: [REDIRECT_URI] });
    rp = await oidc.discovery(new URL(gh.issuer), client.client_id, String(client.client_secret), undefined, insecure);
    await gh.context.accounts.create({ ...PERSON, emailVerified: true });
  });
  after(() => gh?.close());

  const authorizationUrl = async () =>
    oidc.buildAuthorizationUrl(rp, { redirect_uri: REDIRECT_URI, scope: 'openid', code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()), code_challenge_method: 'S256' }).href;
  const deniedAtClient = (url: string) => {
    assert.ok(atClient(url), url);
    assert.equal(new URL(url).searchParams.get('error'), 'access_denied');
    assert.equal(new URL(url).searchParams.get('code'), null);
  };

  it('from an allowed network (IPv4 and IPv6), the sign-in works', async () => {
    for (const ip of ['10.20.30.40', '2001:db8::7']) {
      const callback = await signIn(new UserAgent({ 'x-forwarded-for': ip }), await authorizationUrl(), REDIRECT_URI, PERSON);
      assert.ok(new URL(callback).searchParams.get('code'), ip);
    }
  });

  it('from elsewhere, the authorization request ends with access_denied at the client, before any login page', async () => {
    for (const headers of [{} as Record<string, string>, { 'x-forwarded-for': '192.0.2.1' }, { 'x-forwarded-for': '2001:db9::1' }, { 'x-forwarded-for': '::ffff:192.0.2.1' }]) {
      const page = await new UserAgent(headers).open(await authorizationUrl(), atClient);
      deniedAtClient(page.url);
    }
  });

  it('a forged X-Forwarded-For entry in front of the proxy’s own does not pass', async () => {
    const page = await new UserAgent({ 'x-forwarded-for': '10.0.0.1, 192.0.2.1' }).open(await authorizationUrl(), atClient);
    deniedAtClient(page.url);
  });

  it('a session made on an allowed network is not used from another one', async () => {
    const agent = new UserAgent({ 'x-forwarded-for': '10.0.0.5' });
    await signIn(agent, await authorizationUrl(), REDIRECT_URI, PERSON);
    // the same browser (its session cookie) on another network: no silent sign-in
    const elsewhere = new UserAgent({ 'x-forwarded-for': '198.51.100.7' });
    for (const [name, value] of agent.cookies) elsewhere.cookies.set(name, value);
    deniedAtClient((await elsewhere.open(await authorizationUrl(), atClient)).url);
    // and back on the allowed network it still works without a password
    const again = await agent.open(await authorizationUrl(), atClient);
    assert.ok(new URL(again.url).searchParams.get('code'));
  });

  it('a login page opened on an allowed network and submitted from another does not finish the sign-in', async () => {
    const agent = new UserAgent({ 'x-forwarded-for': '10.0.0.9' });
    const login = await agent.open(await authorizationUrl(), atClient);
    assert.match(login.html, /\/login"/);
    const moved = new UserAgent({ 'x-forwarded-for': '203.0.113.50' });
    for (const [name, value] of agent.cookies) moved.cookies.set(name, value);
    const after = await moved.submit(login, formAction(login.html, /\/login$/), PERSON, atClient);
    deniedAtClient(after.url);
  });

  describe('registration domains', () => {
    const register = async (email: string) => {
      const agent = new UserAgent({ 'x-forwarded-for': '10.0.0.2' });
      const form = await agent.open(`${gh.issuer}/register`);
      assert.equal(form.status, 200);
      return agent.submit(form, formAction(form.html, /\/register$/), { name: 'New Person', email, password: 'a long enough passphrase here' });
    };

    it('an address at an allowed domain registers, in any letter case', async () => {
      const page = await register('Newcomer@EXAMPLE.com');
      assert.equal(page.status, 200);
      assert.match(page.html, /Check your inbox/);
      assert.ok(await gh.context.accounts.findByEmail('newcomer@example.com'));
    });

    it('any other domain, a look-alike subdomain or suffix included, is refused with the rule and no account', async () => {
      for (const email of ['mallory@evil.test', 'mallory@example.com.evil.test', 'mallory@sub.example.com', 'mallory@notexample.com']) {
        const page = await register(email);
        assert.match(page.html, /Registration is open to addresses at example\.com only/, email);
        assert.equal(await gh.context.accounts.findByEmail(email), undefined, email);
      }
    });
  });
});
