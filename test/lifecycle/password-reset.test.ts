/**
 * Password reset by email and the password policy wherever a password is set: the reset signs the account
 * out everywhere (sessions, grants, refresh tokens) and tells the person; every refused case has its own
 * page; expired passwords are changed at sign-in; bcrypt hashes are upgraded; the CLI applies the policy.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import bcrypt from 'bcrypt';
import * as oidc from 'openid-client';
import { UserAgent, formAction, signIn } from '../helpers/user-agent.js';
import { linkIn } from '../helpers/services/mail-catcher.js';
import { TEST_ENCRYPTION_KEY } from '../helpers/gatehouse.js';
import { hashToken } from '../../src/accounts/account-tokens.js';
import { REDIRECT_URI, atClient, authorization, bootWithMail, registerRelyingParty, textOf, type LifecycleHarness, type RelyingParty } from './setup.js';

describe('password reset', () => {
  let h: LifecycleHarness;
  let rp: RelyingParty;
  const user = { email: 'margaret@example.test', password: 'apollo guidance computer', name: 'Margaret Hamilton' };

  before(async () => {
    h = await bootWithMail({ PASSWORD_HISTORY: '3', EMAIL_LIMIT_PER_ACCOUNT: '100' });
    rp = await registerRelyingParty(h.gh);
    await h.gh.context.accounts.create({ ...user, emailVerified: true });
  });
  after(() => h.close());

  async function requestReset(agent: UserAgent, email: string, interaction = '') {
    const form = await agent.open(`${h.gh.issuer}/password/forgot${interaction ? `?interaction=${interaction}` : ''}`);
    return agent.submit(form, '/password/forgot', { email });
  }

  async function resetLink(email: string) {
    return linkIn(await h.mail.waitFor((m) => m.to.includes(email) && /Reset your/.test(m.subject)), `${h.gh.issuer}/password/reset?token=`);
  }

  it('resets through the mailed link, signs out everywhere, and mails a notice', async () => {
    // a signed-in browser with a refresh token
    const browser = new UserAgent();
    const auth = await authorization(rp, { scope: 'openid email offline_access', prompt: 'consent' });
    const first = await auth.finish(await signIn(browser, auth.url, REDIRECT_URI, user));
    assert.ok(first.refresh_token);
    const tokens = await oidc.refreshTokenGrant(rp.config, first.refresh_token!); // the current refresh token

    // "forgot your password" from the sign-in page of a new authorization request
    const agent = new UserAgent();
    const signInPage = await agent.open((await authorization(rp)).url, atClient);
    const forgot = await agent.open(new URL(/href="([^"]*password\/forgot[^"]*)"/.exec(signInPage.html)![1]!.replace(/&amp;/g, '&'), h.gh.issuer).href);
    const sent = await agent.submit(forgot, '/password/forgot', { email: 'Margaret@Example.test' });
    assert.equal(sent.status, 200);
    assert.match(textOf(sent.html), /If margaret@example\.test belongs to an account, we have sent it a link/);
    const link = await resetLink(user.email);

    const form = await agent.open(link);
    assert.equal(form.status, 200);
    assert.match(textOf(form.html), /Choose a new password for margaret@example\.test/);

    // refused passwords, each in plain words; the link keeps working meanwhile
    const refusals: [Record<string, string>, RegExp][] = [
      [{ password: 'too short', confirm: 'too short' }, /Use at least 12 characters/],
      [{ password: 'iloveyou1234', confirm: 'iloveyou1234' }, /list of common passwords/],
      [{ password: user.password, confirm: user.password }, /You have used this password recently/],
      [{ password: 'a fine new passphrase', confirm: 'a fine new passphrase!' }, /The two passwords are not the same/],
    ];
    for (const [fields, message] of refusals) {
      const refused = await agent.submit(form, '/password/reset', fields);
      assert.equal(refused.status, 400);
      assert.match(textOf(refused.html), message);
    }

    const done = await agent.submit(form, '/password/reset', { password: 'a fine new passphrase', confirm: 'a fine new passphrase' });
    assert.equal(done.status, 200);
    assert.match(textOf(done.html), /Your password was changed You have been signed out on every device/);
    assert.match(done.html, /href="\/interaction\/[^"]+"/, 'offers to continue signing in');

    const notice = await h.mail.waitFor((m) => m.to.includes(user.email) && m.subject === 'Your Gatehouse password was changed');
    assert.match(notice.text, /reset with a link sent to this address/);
    assert.match(notice.text, /signed out on every device/);

    // the refresh token is dead, and the browser's session is gone (RFC 6749 §5.2 invalid_grant)
    await assert.rejects(oidc.refreshTokenGrant(rp.config, tokens.refresh_token!), (err: oidc.ResponseBodyError) => err.error === 'invalid_grant');
    const again = await browser.open((await authorization(rp)).url, atClient);
    assert.ok(!atClient(again.url));
    assert.match(again.html, /action="\/interaction\/[^"]+\/login"/, 'the old session no longer signs in');

    // the old password no longer works; the new one does
    assert.equal(await h.gh.context.accounts.authenticate(user.email, user.password), undefined);
    const fresh = await authorization(rp);
    await signIn(new UserAgent(), fresh.url, REDIRECT_URI, { email: user.email, password: 'a fine new passphrase' });
    user.password = 'a fine new passphrase';

    // the link was used up
    const reused = await agent.open(link);
    assert.equal(reused.status, 410);
    assert.match(textOf(reused.html), /This link has already been used/);
  });

  it('only the newest link works, and links expire', async () => {
    const agent = new UserAgent();
    await requestReset(agent, user.email);
    const first = await resetLink(user.email);
    await requestReset(agent, user.email);
    const second = await resetLink(user.email);
    const superseded = await agent.open(first);
    assert.equal(superseded.status, 410);
    assert.match(textOf(superseded.html), /A newer link was sent/);
    assert.match(superseded.html, /href="\/password\/forgot"/);
    const formPage = await agent.open(second);
    assert.equal(formPage.status, 200);

    const account = (await h.gh.context.accounts.findByEmail(user.email))!;
    const token = 'r'.repeat(43);
    await h.gh.context.store.accountTokens.issue({
      tokenHash: hashToken(token), purpose: 'reset-password', accountId: account.id, email: account.email, interactionUid: null,
      createdAt: Date.now() - 7_200_000, expiresAt: Date.now() - 3_600_000, consumedAt: null, supersededAt: null,
    });
    const expired = await agent.open(`${h.gh.issuer}/password/reset?token=${token}`);
    assert.equal(expired.status, 410);
    assert.match(textOf(expired.html), /This link has expired/);
    // posting an expired token (with a form page's CSRF token) changes nothing
    const posted = await agent.submit(formPage, '/password/reset', { token, password: 'yet another passphrase', confirm: 'yet another passphrase' });
    assert.equal(posted.status, 410);
    assert.ok(await h.gh.context.accounts.authenticate(user.email, user.password));
    // the verification-link token does not open the reset page (purposes are separate)
    await h.gh.context.lifecycle.verification.send(account, {}, {});
    const verifyLink = linkIn(await h.mail.waitFor((m) => m.to.includes(user.email) && /Verify/.test(m.subject)), `${h.gh.issuer}/verify-email?token=`);
    const crossed = await agent.open(verifyLink.replace('/verify-email', '/password/reset'));
    assert.equal(crossed.status, 400);
  });

  it('answers an unknown address like a known one, and sends nothing', async () => {
    const before = h.mail.messages.length;
    const sent = await requestReset(new UserAgent(), 'nobody@example.test');
    assert.equal(sent.status, 200);
    assert.match(textOf(sent.html), /If nobody@example\.test belongs to an account, we have sent it a link/);
    await h.gh.context.mailer.drain();
    assert.equal(h.mail.messages.slice(before).filter((m) => m.to.includes('nobody@')).length, 0);
  });
});

describe('password policy everywhere a password is set', () => {
  let h: LifecycleHarness;
  before(async () => {
    h = await bootWithMail({ PASSWORD_MAX_AGE: '30d' });
  });
  after(() => h.close());

  it('asks for a new password at sign-in once the current one has expired', async () => {
    const rp = await registerRelyingParty(h.gh);
    const account = await h.gh.context.accounts.create({ email: 'barbara@example.test', password: 'abstract data types rule', emailVerified: true });
    // the current password was set 31 days ago
    await h.gh.context.store.passwordHistory.add(account.id, { passwordHash: account.passwordHash!, createdAt: Date.now() - 31 * 86_400_000 }, 5);
    assert.equal(await h.gh.context.accounts.passwordExpired((await h.gh.context.accounts.findById(account.id))!), true);

    const agent = new UserAgent();
    const auth = await authorization(rp);
    const login = await agent.open(auth.url, atClient);
    const prompt = await agent.submit(login, formAction(login.html, /\/login$/), { email: 'barbara@example.test', password: 'abstract data types rule' }, atClient);
    assert.match(textOf(prompt.html), /The password of barbara@example\.test has expired/);
    const same = await agent.submit(prompt, formAction(prompt.html, /\/update-password$/), { password: 'abstract data types rule', confirm: 'abstract data types rule' });
    assert.equal(same.status, 400);
    assert.match(textOf(same.html), /You have used this password recently/);
    const next = await agent.submit(same, formAction(same.html, /\/update-password$/), { password: 'liskov substitution forever', confirm: 'liskov substitution forever' }, atClient);
    const page = atClient(next.url) ? next : await agent.submit(next, formAction(next.html, /\/consent$/), {}, atClient);
    assert.ok((await auth.finish(page.url)).id_token);
    assert.ok(await h.gh.context.accounts.authenticate('barbara@example.test', 'liskov substitution forever'));
    await h.mail.waitFor((m) => m.to.includes('barbara@example.test') && /password was changed/.test(m.subject));
  });

  it('upgrades a bcrypt hash at the next sign-in when the cost setting rises', async () => {
    await h.gh.context.accounts.create({ email: 'frances@example.test', password: 'optimising compilers rock' });
    const before = (await h.gh.context.accounts.findByEmail('frances@example.test'))!;
    assert.equal(bcrypt.getRounds(before.passwordHash!), 4);
    await h.gh.restart({ SMTP_URL: h.mail.url, BCRYPT_COST: '5' });
    assert.ok(await h.gh.context.accounts.authenticate('frances@example.test', 'optimising compilers rock'));
    const after = (await h.gh.context.accounts.findByEmail('frances@example.test'))!;
    assert.equal(bcrypt.getRounds(after.passwordHash!), 5);
    assert.ok(await h.gh.context.accounts.authenticate('frances@example.test', 'optimising compilers rock'));
  });

  it('refuses a weak password in `gatehouse users create` and `users set-password`', async () => {
    const cli = (args: string[]) =>
      promisify(execFile)(process.execPath, ['--import', 'tsx', join(process.cwd(), 'src/cli.ts'), ...args], {
        env: { ...process.env, NODE_ENV: 'test', DATABASE_URL: `sqlite:${join(h.gh.dataDir, 'gatehouse.db')}`, KEY_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEY, BCRYPT_COST: '4', ISSUER: h.gh.issuer },
      }).then(
        (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
        (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
      );
    const weak = await cli(['users', 'create', '--email', 'weak@example.test', '--password', 'password1234']);
    assert.equal(weak.code, 2);
    assert.match(weak.stderr, /gatehouse: password: This password is on a list of common passwords/);
    const ok = await cli(['users', 'create', '--email', 'strong@example.test', '--password', 'a sturdy command line passphrase']);
    assert.equal(ok.code, 0, ok.stderr);
    const reuse = await cli(['users', 'set-password', '--email', 'strong@example.test', '--password', 'a sturdy command line passphrase']);
    assert.equal(reuse.code, 2);
    assert.match(reuse.stderr, /This is your current password|used this password recently/);
    const set = await cli(['users', 'set-password', '--email', 'strong@example.test', '--password', 'another sturdy passphrase']);
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /"sessions_ended": 0/);
  });
});
