/**
 * Brute-force and abuse protection: lockouts with exponential back-off on login (per account and per IP),
 * the token endpoint (HTTP 429, Retry-After, JSON error), hourly quotas on registration and reset mail,
 * and the second-factor throttle. Two Gatehouse instances share one SQLite file, as two replicas would
 * share a database: every limit holds across them.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { UserAgent, formAction } from '../helpers/user-agent.js';
import { basicAuth, tokenRequest } from '../helpers/oauth.js';
import { atClient, authorization, bootWithMail, registerRelyingParty, textOf, type LifecycleHarness, type RelyingParty } from './setup.js';

describe('lockout and rate limits across two instances sharing one store', () => {
  let a: TestGatehouse;
  let b: TestGatehouse;
  let rpA: RelyingParty;
  let rpB: RelyingParty;
  const user = { email: 'alan@example.test', password: 'enigma was a hard problem' };
  const limits = {
    LOGIN_MAX_FAILURES_PER_ACCOUNT: '3',
    LOGIN_THROTTLE_WINDOW: '1s',
    LOCKOUT_MAX_DURATION: '4s',
    TOKEN_MAX_FAILURES_PER_CLIENT: '3',
    TOKEN_MAX_FAILURES_PER_IP: '1000',
  };

  before(async () => {
    a = await bootGatehouse(limits);
    b = await bootGatehouse({ ...limits, DATABASE_URL: `sqlite:${join(a.dataDir, 'gatehouse.db')}` });
    await a.context.accounts.create({ ...user, emailVerified: true });
    rpA = await registerRelyingParty(a);
    rpB = { ...rpA, config: rpA.config };
  });
  after(async () => {
    await b.close();
    await a.close();
  });

  /** One sign-in attempt on `gh`'s login page; returns the response page. */
  async function attempt(gh: TestGatehouse, password: string) {
    const agent = new UserAgent();
    const url = (await authorization(rpA)).url.replace(a.issuer, gh.issuer);
    const login = await agent.open(url, atClient);
    return agent.submit(login, formAction(login.html, /\/login$/), { email: user.email, password }, atClient);
  }

  it('locks an account out after repeated failures on either instance, backs off exponentially, and lets it in afterwards', async () => {
    void rpB;
    assert.equal((await attempt(a, 'wrong one')).status, 401);
    assert.equal((await attempt(b, 'wrong two')).status, 401);
    assert.equal((await attempt(a, 'wrong three')).status, 401); // the third failure starts a 1 s lockout

    const locked = await attempt(b, user.password); // even the right password, on the other instance
    assert.equal(locked.status, 429);
    assert.equal(locked.headers.get('retry-after'), '1');
    assert.match(textOf(locked.html), /Too many failed sign-in attempts\. Try again in 1 second\./);

    await delay(1100); // the lockout's end is a moment in time
    const ok = await attempt(a, user.password);
    assert.ok(atClient(ok.url) || /\/consent"/.test(ok.html), `signed in after the lockout: ${ok.status}`);

    // a second lockout within LOCKOUT_MEMORY lasts twice as long
    for (const gh of [b, a, b]) assert.equal((await attempt(gh, 'still wrong')).status, 401);
    const again = await attempt(a, user.password);
    assert.equal(again.status, 429);
    assert.equal(again.headers.get('retry-after'), '2');

    const events = await a.context.audit.query({ types: ['lockout'] });
    assert.equal(events.filter((e) => e.reason === 'login_failures').length, 2);
    assert.deepEqual(events.map((e) => e.details.seconds), [1, 2]);
  });

  // every request here comes from 127.0.0.1: the client is refused at the address its wrong secrets came
  // from (other addresses: test/security/token-endpoint-throttle.test.ts)
  it('answers the token endpoint with 429, Retry-After and a JSON error once a client fails too often from one address', async () => {
    // issue 11: a client_credentials token is for a registered API, so the job's scope belongs to one
    await a.context.resources.create({ identifier: 'https://jobs.example.test', scopes: { 'jobs:run': 'Run jobs' }, accessTokenTtl: 300, permissionsFromRoles: false });
    const client = await a.context.clients.create({ client_name: 'Machine', grant_types: ['client_credentials'], response_types: [], redirect_uris: [], scope: 'jobs:run' });
    const good = basicAuth(client.client_id, String(client.client_secret));
    const bad = basicAuth(client.client_id, 'not-the-secret');
    const request = (gh: TestGatehouse, auth: string) => tokenRequest(gh.issuer, { grant_type: 'client_credentials', scope: 'jobs:run' }, { authorization: auth });

    assert.equal((await request(a, good)).status, 200);
    for (const gh of [a, b, a]) assert.equal((await request(gh, bad)).status, 401);
    for (const gh of [b, a]) {
      const res = await request(gh, good);
      assert.equal(res.status, 429);
      assert.ok(Number(res.headers.get('retry-after')) >= 1);
      assert.equal(res.headers.get('content-type')?.split(';')[0], 'application/json');
      const body = (await res.json()) as Record<string, string>;
      assert.equal(body.error, 'slow_down');
      assert.match(body.error_description!, /retry after \d+ seconds/);
    }
    // a client_id sent in the body counts the same as one in the Authorization header
    const inBody = await tokenRequest(b.issuer, { grant_type: 'client_credentials', scope: 'jobs:run', client_id: client.client_id, client_secret: String(client.client_secret) });
    assert.equal(inBody.status, 429);
    const events = await b.context.audit.query({ types: ['lockout'] });
    assert.ok(events.some((e) => e.reason === 'token_failures_per_client_ip' && e.clientId === client.client_id));
  });
});

describe('hourly quotas on registration and mail', () => {
  let h: LifecycleHarness;
  before(async () => {
    h = await bootWithMail({ REGISTRATION_LIMIT_PER_IP: '2', EMAIL_LIMIT_PER_ACCOUNT: '2', EMAIL_LIMIT_PER_IP: '100', MFA_MAX_FAILURES_PER_ACCOUNT: '3' });
  });
  after(() => h.close());

  it('limits registrations per IP with a friendly 429 page', async () => {
    const agent = new UserAgent();
    let page = await agent.open(`${h.gh.issuer}/register`);
    for (const n of [1, 2]) {
      page = await agent.submit(page, '/register', { email: `quota${n}@example.test`, password: 'a long and quiet evening' });
      assert.equal(page.status, 200);
      page = await agent.open(`${h.gh.issuer}/register`);
    }
    const refused = await agent.submit(page, '/register', { email: 'quota3@example.test', password: 'a long and quiet evening' });
    assert.equal(refused.status, 429);
    assert.ok(Number(refused.headers.get('retry-after')) > 3000);
    assert.match(textOf(refused.html), /Too many registrations in a short time\. Try again in \d+ minutes\./);
    assert.equal(await h.gh.context.accounts.findByEmail('quota3@example.test'), undefined);
  });

  it('limits reset mail per address with the same answer and no mail, for addresses with and without an account', async () => {
    await h.gh.context.accounts.create({ email: 'known@example.test', password: 'a long and quiet evening' });
    for (const email of ['known@example.test', 'unknown@example.test']) {
      const agent = new UserAgent();
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) {
        const form = await agent.open(`${h.gh.issuer}/password/forgot`);
        statuses.push((await agent.submit(form, '/password/forgot', { email })).status);
      }
      // issue 10 item 14: past the limit the same page as before (was a 429), and no mail
      assert.deepEqual(statuses, [200, 200, 200], email);
      await h.gh.context.mailer.drain();
      assert.equal(h.mail.messages.filter((m) => m.to.includes(email)).length, email.startsWith('known') ? 2 : 0, email);
    }
  });

  it('locks out wrong second-factor codes per account (for the MFA feature)', async () => {
    const throttle = h.gh.context.secondFactorThrottle;
    const results = [];
    for (let i = 0; i < 3; i++) {
      const attempt = await throttle.begin('account-1', '198.51.100.7');
      assert.equal(attempt.refused, false);
      if (!attempt.refused) results.push(await attempt.settle('failed'));
    }
    assert.deepEqual(results.map((r) => r.subjectLockedFor), [0, 0, 900]);
    const fromElsewhere = await throttle.begin('account-1', '203.0.113.9');
    assert.ok(fromElsewhere.refused && fromElsewhere.retryAfter > 800, 'from any IP');
    assert.equal((await throttle.begin('account-2', '203.0.113.9')).refused, false);
  });
});
