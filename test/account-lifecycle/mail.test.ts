/**
 * Issue 13: a disabled account asking for a password reset gets the page every address gets and no
 * link; an operator's email change mails a verification link to the new address, which verifies only it.
 */
import assert from 'node:assert/strict';
import { UserAgent, formAction } from '../helpers/user-agent.js';
import { linkIn } from '../helpers/services/mail-catcher.js';
import { bootWithMail, textOf, type LifecycleHarness } from '../lifecycle/setup.js';
import { DEFAULT_SCOPE } from '../../src/accounts/account-lifecycle.js';

describe('account lifecycle: mail (issue 13)', () => {
  let h: LifecycleHarness;
  const by = { via: 'test' };

  before(async () => {
    h = await bootWithMail({ EMAIL_LIMIT_PER_ACCOUNT: '100' });
  });
  after(() => h.close());

  async function requestReset(email: string) {
    const agent = new UserAgent();
    const form = await agent.open(`${h.gh.issuer}/password/forgot`);
    return agent.submit(form, '/password/forgot', { email });
  }

  it('a disabled account gets the answer every address gets, and no reset link', async () => {
    const active = await h.gh.context.accounts.create({ email: 'active.one@example.test', password: 'a long enough passphrase', emailVerified: true });
    const disabled = await h.gh.context.accounts.create({ email: 'disabled.one@example.test', password: 'a long enough passphrase', emailVerified: true });
    await h.gh.context.accountLifecycle.disable({ scope: DEFAULT_SCOPE, account: { id: disabled.id }, by });
    const pages = await Promise.all([requestReset(active.email), requestReset(disabled.email), requestReset('nobody.at.all@example.test')]);
    const texts = pages.map((p) => textOf(p.html).replace(/[\w.]+@example\.test/g, 'EMAIL'));
    assert.deepEqual(pages.map((p) => p.status), [pages[0]!.status, pages[0]!.status, pages[0]!.status]);
    assert.equal(texts[1], texts[0]);
    assert.equal(texts[2], texts[0]);
    await h.mail.waitFor((m) => m.to.includes(active.email) && /Reset your/.test(m.subject));
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(!h.mail.messages.some((m) => m.to.includes(disabled.email)), 'no mail to the disabled account');
  });

  it('set-email sends a verification link to the new address, and the link verifies it', async () => {
    const a = await h.gh.context.accounts.create({ email: 'old.address@example.test', password: 'a long enough passphrase', emailVerified: true });
    const r = await h.gh.context.accountLifecycle.setEmail({ scope: DEFAULT_SCOPE, account: { id: a.id }, email: 'New.Address@example.test', by });
    assert.equal(r.verificationSent, true);
    const mail = await h.mail.waitFor((m) => m.to.includes('new.address@example.test'));
    const link = linkIn(mail, `${h.gh.issuer}/verify-email?token=`);
    const agent = new UserAgent();
    // the link opens a confirmation page; its button verifies (a mail scanner's GET does not)
    const page = await agent.open(link);
    await agent.submit(page, formAction(page.html, /\/verify-email$/), { token: new URL(link).searchParams.get('token')! });
    const stored = await h.gh.context.store.accounts.findById(a.id);
    assert.deepEqual([stored?.email, stored?.emailVerified], ['new.address@example.test', true]);
  });
});
