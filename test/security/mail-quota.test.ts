/**
 * Issue 10 item 14: EMAIL_LIMIT_PER_ACCOUNT counts mails sent to an address, not requests. A registration the
 * password policy refuses sends nothing and uses none of it; past the limit, registration and "forgot
 * password" answer exactly as under it (same status, same page), and no mail goes out.
 */
import assert from 'node:assert/strict';
import { UserAgent } from '../helpers/user-agent.js';
import { bootWithMail, textOf, type LifecycleHarness } from '../lifecycle/setup.js';

describe('security: the per-address mail limit counts mails sent', () => {
  let h: LifecycleHarness;
  before(async () => {
    h = await bootWithMail({ EMAIL_LIMIT_PER_ACCOUNT: '3', REGISTRATION_LIMIT_PER_IP: '1000', EMAIL_LIMIT_PER_IP: '1000' });
  });
  after(() => h.close());

  const mailsTo = (email: string) => h.mail.messages.filter((m) => m.to.includes(email)).length;
  /** every mail job started by the requests so far has run (sent, or decided not to) */
  const settled = () => h.gh.context.mailer.drain();

  it('five registrations refused by the password policy do not stop the valid one from getting its mail', async () => {
    const email = 'refused.five@example.test';
    const agent = new UserAgent();
    let page = await agent.open(`${h.gh.issuer}/register`);
    for (const password of ['short', 'passwordpassword', 'qwertyuiop123', 'abababababababab', 'short again']) {
      page = await agent.submit(page, '/register', { email, password });
      assert.equal(page.status, 400, password);
    }
    await settled();
    assert.equal(mailsTo(email), 0);
    const sent = await agent.submit(page, '/register', { email, password: 'a long and quiet evening' });
    assert.equal(sent.status, 200);
    const mail = await h.mail.waitFor((m) => m.to.includes(email));
    assert.match(mail.subject, /Verify your email address/);
  });

  it('past the limit, forgot-password answers as under it and sends nothing (known and unknown address alike)', async () => {
    const known = 'reset.known@example.test';
    await h.gh.context.accounts.create({ email: known, password: 'a long and quiet evening' });
    for (const email of [known, 'reset.unknown@example.test']) {
      const agent = new UserAgent();
      const answers: { status: number; text: string }[] = [];
      for (let i = 0; i < 6; i++) {
        const form = await agent.open(`${h.gh.issuer}/password/forgot`);
        // the address typed as an attacker would vary it: case and surrounding spaces
        const typed = i % 2 ? ` ${email.toUpperCase()} ` : email;
        const res = await agent.submit(form, '/password/forgot', { email: typed });
        answers.push({ status: res.status, text: textOf(res.html).replace(/\s+/g, ' ') });
        assert.equal(res.headers.get('retry-after'), null);
      }
      assert.deepEqual(new Set(answers.map((a) => a.status)), new Set([200]), email);
      assert.equal(new Set(answers.map((a) => a.text)).size, 1, `${email}: one page for every request`);
      await settled();
      assert.equal(mailsTo(email), email === known ? 3 : 0, email);
    }
  });

  it('past the limit, registration answers as under it and sends nothing; the link already sent keeps working', async () => {
    const email = 'register.many@example.test';
    const answers: { status: number; text: string }[] = [];
    for (let i = 0; i < 5; i++) {
      const agent = new UserAgent();
      const form = await agent.open(`${h.gh.issuer}/register`);
      const res = await agent.submit(form, '/register', { email, password: 'a long and quiet evening' });
      answers.push({ status: res.status, text: textOf(res.html) });
    }
    assert.deepEqual(answers.map((a) => a.status), [200, 200, 200, 200, 200]);
    assert.equal(new Set(answers.map((a) => a.text)).size, 1);
    await settled();
    // the first registration's verification mail, then "someone tried to register" mails up to the limit
    assert.equal(mailsTo(email), 3);
    const first = h.mail.messages.find((m) => m.to.includes(email) && /Verify/.test(m.subject))!;
    const link = /https?:\/\/[^\s"]+verify-email\?token=[A-Za-z0-9_-]+/.exec(first.text)![0];
    const confirm = await new UserAgent().open(link);
    assert.equal(confirm.status, 200, 'no later request made a token that superseded it');
  });
});
