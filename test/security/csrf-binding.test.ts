/**
 * Issue 10 item 12(d): the CSRF token is good only in the browser it was issued to, and under https its
 * cookie is `__Host-` prefixed (Secure, Path=/, no Domain), so a sibling subdomain cannot toss in a pair of
 * its own. Browser 1's token replayed in browser 2's POST is refused, and nothing is created.
 */
import assert from 'node:assert/strict';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { UserAgent, hiddenFields } from '../helpers/user-agent.js';

describe('security: CSRF cookie and token binding', () => {
  let gh: TestGatehouse;
  // an https issuer behind a TLS-terminating proxy (the test speaks http and says so in X-Forwarded-Proto)
  const viaProxy = { 'x-forwarded-proto': 'https' };
  before(async () => {
    gh = await bootGatehouse({ REGISTRATION_ENABLED: 'true', REGISTRATION_LIMIT_PER_IP: '1000', TRUST_PROXY: 'true', ISSUER: 'https://id.example.test' });
  });
  after(() => gh.close());
  // gh.issuer is the address the test server listens on; the configured ISSUER is the https one
  const base = () => gh.issuer;

  async function registrationForm(agent: UserAgent) {
    const res = await agent.fetch(`${base()}/register`, { headers: viaProxy });
    const html = await res.text();
    return { res, token: hiddenFields(html, '/register')._csrf! };
  }
  const post = (agent: UserAgent, fields: Record<string, string>) =>
    agent.fetch(`${base()}/register`, { method: 'POST', headers: { ...viaProxy, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields) });

  it('sets a __Host- cookie: Secure, Path=/, no Domain', async () => {
    const { res } = await registrationForm(new UserAgent());
    const cookies = res.headers.getSetCookie().filter((c) => c.startsWith('__Host-gatehouse.csrf'));
    assert.equal(cookies.length, 2, 'the value and its signature');
    for (const c of cookies) {
      assert.match(c, /;\s*secure/i);
      assert.match(c, /;\s*path=\/(;|$)/i);
      assert.doesNotMatch(c, /domain=/i);
      assert.match(c, /;\s*httponly/i);
    }
  });

  it("refuses browser 1's token in browser 2 (and without cookies), creating nothing", async () => {
    const one = new UserAgent();
    const two = new UserAgent();
    const { token } = await registrationForm(one);
    await registrationForm(two);
    const fields = (email: string) => ({ _csrf: token, email, password: 'a long and quiet evening' });
    const replays = await Promise.all([post(two, fields('csrf-a@example.test')), post(new UserAgent(), fields('csrf-b@example.test'))]);
    for (const res of replays) {
      assert.equal(res.status, 403);
      await res.body?.cancel();
    }
    // browser 2 holding browser 1's secret cookie without its signature, or a forged unsigned one, does no better
    const forged = new UserAgent();
    forged.cookies.set('__Host-gatehouse.csrf', one.cookies.get('__Host-gatehouse.csrf')!);
    const res = await post(forged, fields('csrf-c@example.test'));
    assert.equal(res.status, 403);
    await res.body?.cancel();
    for (const email of ['csrf-a@example.test', 'csrf-b@example.test', 'csrf-c@example.test']) {
      assert.equal(await gh.context.accounts.findByEmail(email), undefined);
    }
    // and the token works in its own browser
    const own = await post(one, fields('csrf-own@example.test'));
    assert.equal(own.status, 200);
    await own.body?.cancel();
  });
});
