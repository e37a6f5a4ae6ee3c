/**
 * Lockouts that count before they check (issue 10 items 2-5), attacked as an attacker would: bursts of
 * parallel wrong secrets, the same login in other spellings, a known and an unknown identifier side by
 * side across the lockout boundary, and a shared address that must not lock out the person who knows
 * their password. "Verified" is observable: a checked wrong password answers 401, one refused unchecked
 * answers 429 (the throttle answers before bcrypt runs).
 */
import assert from 'node:assert/strict';
import { UserAgent, formAction, type Page } from '../helpers/user-agent.js';
import { atClient, authorization, bootWithMail, registerRelyingParty, type LifecycleHarness, type RelyingParty } from '../lifecycle/setup.js';
import { isMfaPage, submitMfa, totpCode } from '../mfa/helpers.js';

const PASSWORD = 'the correct horse is elsewhere';

describe('security: lockouts count before they check, per person, and say nothing about accounts', function () {
  this.timeout(120_000);
  let h: LifecycleHarness;
  let rp: RelyingParty;

  before(async () => {
    h = await bootWithMail({ LOGIN_MAX_FAILURES_PER_ACCOUNT: '5', MFA_MAX_FAILURES_PER_ACCOUNT: '5', LOGIN_MAX_FAILURES_PER_IP: '100000' });
    rp = await registerRelyingParty(h.gh);
  });
  after(() => h.close());

  const createAccount = (email: string) => h.gh.context.accounts.create({ email, password: PASSWORD, emailVerified: true });

  /** A fresh browser on the login page of a new authorization request. */
  async function loginPage(): Promise<{ agent: UserAgent; page: Page }> {
    const agent = new UserAgent();
    const page = await agent.open((await authorization(rp)).url, atClient);
    assert.match(page.html, /\/login"/, 'the login page');
    return { agent, page };
  }

  async function attempt(email: string, password: string): Promise<Page> {
    const { agent, page } = await loginPage();
    return agent.submit(page, formAction(page.html, /\/login$/), { email, password }, atClient);
  }

  /** Opens every login page first, then sends all the passwords at once: a real burst. */
  async function burstOf(attempts: { email: string; password: string }[]): Promise<Page[]> {
    const ready = await Promise.all(attempts.map(async (a) => ({ ...a, ...(await loginPage()) })));
    return Promise.all(ready.map(({ agent, page, email, password }) => agent.submit(page, formAction(page.html, /\/login$/), { email, password }, atClient)));
  }

  const statuses = (pages: Page[]) => pages.map((p) => p.status);
  const count = (pages: Page[], status: number) => pages.filter((p) => p.status === status).length;

  it('40 parallel wrong passwords against one account: at most 5 are verified, the rest 429; then the right password is refused too', async () => {
    const email = 'burst@example.test';
    const account = await createAccount(email);
    const burst = await burstOf(Array.from({ length: 40 }, (_, i) => ({ email, password: `wrong guess ${i}` })));
    assert.ok(count(burst, 401) <= 5, `verified ${count(burst, 401)}: ${statuses(burst)}`);
    assert.equal(count(burst, 401) + count(burst, 429), 40, String(statuses(burst)));
    const right = await attempt(email, PASSWORD);
    assert.equal(right.status, 429, 'the right password after the limit is refused');
    assert.ok(Number(right.headers.get('retry-after')) > 0);
    // nothing changed in the store: the same password hash, and no session was made for the account
    assert.equal((await h.gh.context.accounts.findById(account.id))?.passwordHash, account.passwordHash);
    const audit = await h.gh.context.audit.query({ accountId: account.id });
    assert.equal(audit.filter((e) => e.type === 'login.success').length, 0);
    assert.ok(audit.filter((e) => e.reason === 'wrong_password').length <= 5, 'at most 5 bcrypt checks were audited');
  });

  it('a correct password sent inside a burst that reaches the limit gets at most one of the limit\'s checks', async () => {
    const email = 'mixed@example.test';
    await createAccount(email);
    const burst = await burstOf([
      ...Array.from({ length: 20 }, (_, i) => ({ email, password: `wrong guess ${i}` })),
      { email, password: PASSWORD },
      ...Array.from({ length: 19 }, (_, i) => ({ email, password: `other guess ${i}` })),
    ]);
    const succeeded = burst.filter((p) => p.status !== 401 && p.status !== 429).length;
    assert.ok(count(burst, 401) + succeeded <= 5, `checked ${count(burst, 401) + succeeded}: ${statuses(burst)}`);
    assert.equal((await attempt(email, PASSWORD)).status, 429, 'once the limit is reached the right password is refused');
  });

  it('other letter case and surrounding whitespace count on the same counter', async () => {
    const email = 'spelling@example.test';
    await createAccount(email);
    const spellings = ['spelling@example.test', 'SPELLING@EXAMPLE.TEST', ' spelling@example.test', 'Spelling@Example.Test  ', '\tspelling@example.TEST'];
    for (const typed of spellings) assert.equal((await attempt(typed, 'a wrong guess')).status, 401, JSON.stringify(typed));
    for (const typed of spellings) assert.equal((await attempt(typed, PASSWORD)).status, 429, `${JSON.stringify(typed)} has no fresh counter`);
  });

  it('a login with whitespace or control characters inside is refused before any lookup, with the same answer', async () => {
    const email = 'inner@example.test';
    await createAccount(email);
    const wrong = await attempt(email, 'a wrong guess');
    for (const typed of ['inner @example.test', 'inner@example.test\u0000', 'inner\u200b@example.test', 'inner@exa\nmple.test']) {
      const page = await attempt(typed, PASSWORD);
      assert.equal(page.status, 401, JSON.stringify(typed));
      assert.match(page.html, /The email or password is incorrect\./);
    }
    assert.equal(wrong.status, 401);
    const audit = await h.gh.context.audit.query({ types: ["login.failure"] });
    assert.ok(audit.some((e) => e.reason === 'malformed_login'), 'audited as a malformed login');
    assert.equal(audit.filter((e) => e.reason === 'wrong_password' && e.accountId && e.details?.email === email).length, 1, 'no password was checked for them');
  });

  it('30 paired attempts, a known and an unknown identifier, answer alike across the lockout boundary', async () => {
    const known = 'paired@example.test';
    await createAccount(known);
    const unknown = 'nobody-paired@example.test';
    const shape = (p: Page, email: string) => ({
      status: p.status,
      retryAfter: p.headers.get('retry-after') !== null,
      cookies: (p.headers.getSetCookie?.() ?? []).map((c) => c.split('=')[0]).sort().join(','),
      body: p.html.replaceAll(email, 'EMAIL').replace(/(value|data-csrf)="[A-Za-z0-9_-]{43}"/g, '$1="CSRF"')
        .replace(/nonce="[^"]+"/g, 'nonce="N"').replace(/\/interaction\/[A-Za-z0-9_-]+/g, '/interaction/UID').replace(/interaction=[A-Za-z0-9_-]+/g, 'interaction=UID')
        .replace(/Try again in [^.]+\./, 'Try again in T.'),
    });
    const waits: [number, number][] = [];
    for (let i = 0; i < 30; i++) {
      const [a, b] = i % 2 ? [await attempt(unknown, `guess ${i}`), await attempt(known, `guess ${i}`)] : [await attempt(known, `guess ${i}`), await attempt(unknown, `guess ${i}`)];
      const [k, u] = i % 2 ? [b, a] : [a, b];
      assert.deepEqual(shape(k, known), shape(u, unknown), `attempt ${i}`);
      assert.equal(k.status, i < 5 ? 401 : 429, `attempt ${i}`);
      if (k.status === 429) waits.push([Number(k.headers.get('retry-after')), Number(u.headers.get('retry-after'))]);
    }
    for (const [k, u] of waits) assert.ok(Math.abs(k - u) <= 2, `Retry-After ${k} vs ${u}`);
  });

  it('40 parallel wrong TOTP codes: at most 5 are checked, then the right code is refused', async () => {
    const email = 'totp-burst@example.test';
    const account = await createAccount(email);
    const enrolment = await h.gh.context.factors.totp.startEnrolment(account.id, email);
    assert.ok(enrolment);
    const secret = (enrolment as { secret: string }).secret;
    assert.ok(await h.gh.context.factors.totp.confirmEnrolment(account.id, await totpCode(secret)));
    const { agent, page } = await loginPage();
    const mfa = await agent.submit(page, formAction(page.html, /\/login$/), { email, password: PASSWORD }, atClient);
    assert.ok(isMfaPage(mfa), `the mfa page, got ${mfa.status}`);
    const burst = await Promise.all(Array.from({ length: 40 }, (_, i) => submitMfa(agent, mfa, 'totp', String(100000 + i), atClient)));
    assert.ok(count(burst, 401) <= 5, `checked ${count(burst, 401)}: ${statuses(burst)}`);
    assert.equal(count(burst, 401) + count(burst, 429), 40, String(statuses(burst)));
    assert.equal((await submitMfa(agent, mfa, 'totp', await totpCode(secret, 1), atClient)).status, 429);
  });

  it('40 parallel wrong current passwords on the password-change form: at most 5 are checked, the password is unchanged', async () => {
    const email = 'change@example.test';
    const account = await createAccount(email);
    const agent = new UserAgent();
    let page = await agent.open(`${h.gh.issuer}/account`);
    page = await agent.submit(page, formAction(page.html, /\/login$/), { email, password: PASSWORD });
    assert.equal(page.status, 200);
    assert.match(page.html, /action="\/account\/password"/, 'the account page');
    const burst = await Promise.all(Array.from({ length: 40 }, (_, i) =>
      agent.submit(page, '/account/password', { current_password: `wrong ${i}`, new_password: 'an entirely new passphrase', confirm_password: 'an entirely new passphrase' })));
    assert.ok(count(burst, 401) <= 5, `checked ${count(burst, 401)}: ${statuses(burst)}`);
    assert.equal(count(burst, 401) + count(burst, 429), 40, String(statuses(burst)));
    const right = await agent.submit(page, '/account/password', { current_password: PASSWORD, new_password: 'an entirely new passphrase', confirm_password: 'an entirely new passphrase' });
    assert.equal(right.status, 429);
    assert.equal((await h.gh.context.accounts.findById(account.id))?.passwordHash, account.passwordHash, 'the password is unchanged');
    // the form and the login share the person's counter
    assert.equal((await attempt(email, PASSWORD)).status, 429);
  });
});

describe('security: a shared address slows guessing down but does not lock out the person who knows the password', function () {
  this.timeout(120_000);
  let h: LifecycleHarness;
  let rp: RelyingParty;

  before(async () => {
    h = await bootWithMail({ LOGIN_MAX_FAILURES_PER_ACCOUNT: '5', LOGIN_MAX_FAILURES_PER_IP: '3' });
    rp = await registerRelyingParty(h.gh);
    await h.gh.context.accounts.create({ email: 'colleague@example.test', password: PASSWORD, emailVerified: true });
  });
  after(() => h.close());

  async function attempt(email: string, password: string): Promise<Page> {
    const agent = new UserAgent();
    const page = await agent.open((await authorization(rp)).url, atClient);
    return agent.submit(page, formAction(page.html, /\/login$/), { email, password }, atClient);
  }

  it('past the per-IP threshold attempts are delayed, not refused; the right password still signs in; ten times the threshold locks the address', async () => {
    // an attacker behind the office NAT sprays wrong passwords at several accounts
    const spray = await Promise.all(Array.from({ length: 6 }, (_, i) => attempt(`person${i}@example.test`, 'Winter2026!')));
    assert.deepEqual(spray.map((p) => p.status), [401, 401, 401, 401, 401, 401]);
    // a colleague at the same address types the right password: signed in (after a short delay)
    const started = Date.now();
    const colleague = await attempt('colleague@example.test', PASSWORD);
    assert.notEqual(colleague.status, 429);
    assert.ok(atClient(colleague.url) || /consent/.test(colleague.html), `signed in: ${colleague.status} ${colleague.url}`);
    assert.ok(Date.now() - started >= 250, 'the attempt was slowed down');
    // the spray goes on, in parallel: at ten times the threshold (30 failures) the address is locked
    const more = await Promise.all(Array.from({ length: 30 }, (_, i) => attempt(`other${i}@example.test`, 'Spring2026!')));
    assert.ok(more.filter((p) => p.status === 401).length <= 24, `checked ${more.filter((p) => p.status === 401).length}`);
    assert.ok(more.some((p) => p.status === 429), 'the address is locked out in the end');
  });
});
