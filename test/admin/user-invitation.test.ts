/**
 * POST /admin/v1/users with `invite`: an account without a password, and a mail whose link sets the
 * first password through the password reset page (its policy applies). Every answer is checked against
 * the served OpenAPI document (admin-client.ts).
 */
import assert from 'node:assert/strict';
import { bootWithMail, type LifecycleHarness } from '../lifecycle/setup.js';
import { linkIn } from '../helpers/services/mail-catcher.js';
import { UserAgent } from '../helpers/user-agent.js';
import { createAdminCaller, managementToken } from './admin-client.js';

describe('management API: invitations', () => {
  let h: LifecycleHarness;
  let call: ReturnType<typeof createAdminCaller>;
  let token: string;
  before(async () => {
    h = await bootWithMail();
    call = createAdminCaller(h.gh);
    token = await managementToken(h.gh, 'admin:users:write admin:users:read');
  });
  after(() => h.close());

  it('creates the account without a password and mails a link that sets the first one', async () => {
    const res = await call('POST', '/users', { token, body: { email: 'Invitee@Example.test', name: 'Ina Vitee', invite: true } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.equal(res.body.invitation_sent, true);
    assert.equal(res.body.has_password, false);
    assert.equal(await h.gh.context.accounts.authenticate('invitee@example.test', ''), undefined);
    const mail = await h.mail.waitFor((m) => m.to.includes('invitee@example.test') && /invited/.test(m.subject));
    assert.match(mail.text, /works once, for 7 days/);
    const link = linkIn(mail, `${h.gh.issuer}/password/reset`);
    const agent = new UserAgent();
    const page = await agent.open(link);
    assert.equal(page.status, 200);
    // the password policy applies to the first password as to any
    const weak = await agent.submit(page, '/password/reset', { password: 'short', confirm: 'short' });
    assert.equal(weak.status, 400);
    await agent.submit(page, '/password/reset', { password: 'my first long passphrase', confirm: 'my first long passphrase' });
    assert.ok(await h.gh.context.accounts.authenticate('invitee@example.test', 'my first long passphrase'));
    // the link works once
    assert.notEqual((await agent.open(link)).html.includes('name="password"'), true);
  });

  it('refuses an invitation together with a password, creating nothing', async () => {
    const res = await call('POST', '/users', { token, body: { email: 'both@example.test', password: 'a long enough passphrase here', invite: true } });
    assert.equal(res.status, 400);
    assert.equal(await h.gh.context.accounts.findByEmail('both@example.test'), undefined);
  });
});
