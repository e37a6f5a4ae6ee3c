/**
 * Issue 13 item 7: on /account a person changes their email (a link to the new address makes the change,
 * the old address is told), downloads their data, and deletes their account; each after a recent
 * sign-in, each refused the ways an attacker would try it (a taken address, another account's link, a
 * replayed link, a forged form, a password-only session of an account with a second factor).
 */
import assert from 'node:assert/strict';
import { bootWithMail, type LifecycleHarness } from '../lifecycle/setup.js';
import { linkIn } from '../helpers/services/mail-catcher.js';
import { UserAgent, type Page } from '../helpers/user-agent.js';
import { submitPassword } from '../mfa/helpers.js';
import { sqliteText } from '../helpers/sqlite-text.js';

const PASSWORD = 'a long enough passphrase here';

describe('account pages: change email, download data, delete the account (issue 13 item 7)', () => {
  let h: LifecycleHarness;
  let n = 0;

  before(async () => {
    h = await bootWithMail();
  });
  after(() => h.close());

  async function person(): Promise<{ email: string; id: string; agent: UserAgent; home: Page }> {
    n += 1;
    const email = `person${n}@self.example.test`;
    const account = await h.gh.context.accounts.create({ email, password: PASSWORD, name: `Person ${n}`, emailVerified: true });
    const agent = new UserAgent();
    const home = await submitPassword(agent, await agent.open(`${h.gh.issuer}/account`), { email, password: PASSWORD });
    assert.match(home.html, /Your account/);
    return { email, id: account.id, agent, home };
  }

  it('changes the email only when the link sent to the new address is used, and tells the old address', async () => {
    const p = await person();
    const sent = await p.agent.submit(p.home, '/account/email', { email: '  New.Address@Self.Example.test ' });
    assert.match(sent.html, /a link to confirm it is on its way/);
    assert.equal((await h.gh.context.accounts.findById(p.id))?.email, p.email, 'nothing changes before the link');
    const mail = await h.mail.waitFor((m) => m.to.includes('new.address@self.example.test'));
    const link = linkIn(mail, `${h.gh.issuer}/account/email/confirm`);
    const confirm = await p.agent.open(link);
    assert.match(confirm.html, /Use this address/);
    assert.equal((await h.gh.context.accounts.findById(p.id))?.email, p.email, 'opening the link (a mail scanner) changes nothing');
    const done = await p.agent.submit(confirm, '/account/email/confirm', {});
    assert.match(done.html, /Your email address was changed/);
    const after = await h.gh.context.accounts.findById(p.id);
    assert.deepEqual([after?.email, after?.emailVerified], ['new.address@self.example.test', true]);
    const notice = await h.mail.waitFor((m) => m.to.includes(p.email) && /was changed/.test(m.subject));
    assert.match(notice.text, /new\.address@self\.example\.test/);
    // the link works once
    const again = await p.agent.post(`${h.gh.issuer}/account/email/confirm`, { token: new URL(link).searchParams.get('token')!, _csrf: hidden(confirm, '_csrf') });
    assert.equal(again.status, 400);
  });

  it('gives the same answer for an address another account has (in another letter case), and sends it nothing', async () => {
    const p = await person();
    const other = await person();
    const before = h.mail.messages.length;
    const sent = await p.agent.submit(p.home, '/account/email', { email: other.email.toUpperCase() });
    assert.match(sent.html, /a link to confirm it is on its way/);
    assert.equal(h.mail.messages.slice(before).filter((m) => m.to.includes(other.email)).length, 0);
    assert.equal((await h.gh.context.accounts.findById(p.id))?.email, p.email);
  });

  it("refuses another account's link, and leaves it usable for its owner", async () => {
    const owner = await person();
    const intruder = await person();
    await owner.agent.submit(owner.home, '/account/email', { email: 'owner.new@self.example.test' });
    const link = linkIn(await h.mail.waitFor((m) => m.to.includes('owner.new@self.example.test')), `${h.gh.issuer}/account/email/confirm`);
    const page = await intruder.agent.open(link);
    assert.equal(page.status, 400);
    assert.match(page.html, /sent for another account/);
    const forced = await intruder.agent.post(`${h.gh.issuer}/account/email/confirm`, { token: new URL(link).searchParams.get('token')!, _csrf: hidden(intruder.home, '_csrf') });
    assert.equal(forced.status, 400);
    assert.equal((await h.gh.context.accounts.findById(intruder.id))?.email, intruder.email);
    const confirm = await owner.agent.open(link);
    await owner.agent.submit(confirm, '/account/email/confirm', {});
    assert.equal((await h.gh.context.accounts.findById(owner.id))?.email, 'owner.new@self.example.test');
  });

  it('refuses a form without the CSRF token, changing nothing', async () => {
    const p = await person();
    const forged = await p.agent.post(`${h.gh.issuer}/account/email`, { email: 'forged@self.example.test' });
    assert.equal(forged.status, 403);
    const deleted = await p.agent.post(`${h.gh.issuer}/account/delete`, { confirm_email: p.email });
    assert.equal(deleted.status, 403);
    assert.ok(await h.gh.context.accounts.findById(p.id));
  });

  it('downloads the data as JSON: profile, factors without secrets, sessions, apps and recent events', async () => {
    const p = await person();
    const res = await p.agent.fetch(`${h.gh.issuer}/account/data`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-disposition') ?? '', /attachment/);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const text = await res.text();
    const data = JSON.parse(text) as { profile: { email: string }; factors: Record<string, unknown>; sessions: unknown[]; audit_events_last_90_days: { type: string }[] };
    assert.equal(data.profile.email, p.email);
    assert.equal(data.factors.totp, 'none');
    assert.ok(data.sessions.length >= 1);
    assert.ok(data.audit_events_last_90_days.some((e) => e.type.startsWith('login')));
    assert.ok(!/passwordHash|password_hash|\$2[aby]\$/.test(text), 'no password hash');
  });

  it('deletes the account only with the address typed, then nothing of it is left but pseudonymous events', async () => {
    const p = await person();
    const page = await p.agent.open(`${h.gh.issuer}/account/delete`);
    const wrong = await p.agent.submit(page, '/account/delete', { confirm_email: 'someone.else@self.example.test' });
    assert.equal(wrong.status, 400);
    assert.ok(await h.gh.context.accounts.findById(p.id));
    const done = await p.agent.submit(page, '/account/delete', { confirm_email: ` ${p.email.toUpperCase()} ` });
    assert.match(done.html, /Your account was deleted/);
    assert.equal(await h.gh.context.accounts.findById(p.id), undefined);
    assert.equal(await h.gh.context.accounts.authenticate(p.email, PASSWORD), undefined);
    const file = sqliteText(h.gh.dataDir);
    assert.ok(!file.includes(p.id), 'no row names the account id');
    assert.ok(!file.includes(p.email), 'no row names the address');
    // the browser's session is gone with the account
    const back = await p.agent.open(`${h.gh.issuer}/account`);
    assert.doesNotMatch(back.html, /Your account<\/h1>/);
  });
});

function hidden(page: Page, name: string): string {
  const m = new RegExp(`name="${name}" value="([^"]*)"`).exec(page.html);
  return m?.[1] ?? '';
}
