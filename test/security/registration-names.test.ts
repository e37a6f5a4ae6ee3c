/**
 * Issue 10 item 12(b): a registration's display name is a way to put an attacker's words into pages and
 * into a mail from us to a stranger's address. Names with links, domains, markup or control characters
 * are refused with a form error (no account, no mail), and the verification mail (to an address nobody
 * has proven) never contains the name.
 */
import assert from 'node:assert/strict';
import { UserAgent, formAction } from '../helpers/user-agent.js';
import { bootWithMail, textOf, type LifecycleHarness } from '../lifecycle/setup.js';

describe('security: names at registration', () => {
  let h: LifecycleHarness;
  before(async () => {
    h = await bootWithMail({ REGISTRATION_LIMIT_PER_IP: '1000', EMAIL_LIMIT_PER_ACCOUNT: '100' });
  });
  after(() => h.close());

  it('refuses names with links, domains, markup and control characters, creating nothing', async () => {
    const names = [
      'Claim your prize at http://evil.example', 'HTTPS://evil.example', 'see www.evil', 'evil.example', 'Support team - login-now.com',
      '<a href=x>Support</a>', 'Ada\r\nBcc: victim@example.test', 'Ada\u0000', '\u202Eelpmaxe.live', 'mailto:x',
    ];
    const agent = new UserAgent();
    let page = await agent.open(`${h.gh.issuer}/register`);
    for (const [i, name] of names.entries()) {
      const email = `names${i}@example.test`;
      page = await agent.submit(page, '/register', { name, email, password: 'a long and quiet evening' });
      assert.equal(page.status, 400, name);
      assert.match(textOf(page.html), /Use only letters|cannot contain/, name);
      assert.equal(await h.gh.context.accounts.findByEmail(email), undefined, name);
    }
    await h.gh.context.mailer.drain();
    assert.equal(h.mail.messages.filter((m) => /^names\d+@/.test(m.to)).length, 0);
  });

  it('accepts ordinary names in any script, and keeps them out of the verification mail', async () => {
    for (const [i, name] of ['Zanzibar Quartermaine', 'José Ñúñez-O\'Brien', 'J. R. R. Tolkien', '李小龙'].entries()) {
      const email = `fine${i}@example.test`;
      const agent = new UserAgent();
      const form = await agent.open(`${h.gh.issuer}/register`);
      const sent = await agent.submit(form, '/register', { name, email, password: 'a long and quiet evening' });
      assert.equal(sent.status, 200, name);
      assert.equal((await h.gh.context.accounts.findByEmail(email))?.name, name);
      const mail = await h.mail.waitFor((m) => m.to.includes(email));
      assert.match(mail.subject, /Verify your email address/);
      for (const part of name.split(/\s+/).filter((w) => w.length > 2)) {
        assert.ok(!mail.text.includes(part) && !mail.html.includes(part), `${part} echoed in the mail`);
      }
    }
  });

  it('the account page refuses the same names, and the stored name stays as it was', async () => {
    const email = 'profile-name@example.test';
    const password = 'a long and quiet evening';
    await h.gh.context.accounts.create({ email, password, name: 'Ada Lovelace', emailVerified: true });
    const agent = new UserAgent();
    let page = await agent.open(`${h.gh.issuer}/account`);
    page = await agent.submit(page, formAction(page.html, /\/login$/), { email, password });
    assert.match(page.html, /action="\/account\/profile"/, 'the account page');
    for (const name of ['Visit http://evil.example', '<b>Ada</b>', 'Ada\u202Eevil', 'login-now.com']) {
      const answer = await agent.submit(page, '/account/profile', { name });
      assert.equal(answer.status, 400, name);
      assert.equal((await h.gh.context.accounts.findByEmail(email))?.name, 'Ada Lovelace', name);
    }
  });
});
