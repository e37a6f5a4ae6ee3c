/**
 * Self-registration → email verification → sign-in, through the real pages and a real SMTP server, and
 * every way it refuses: taken addresses (same answer, and a mail to the owner), weak passwords, terms,
 * registration turned off (globally and per client), and verified email required by a client.
 */
import assert from 'node:assert/strict';
import { UserAgent, formAction, signIn } from '../helpers/user-agent.js';
import { linkIn } from '../helpers/services/mail-catcher.js';
import { atClient, authorization, bootWithMail, registerRelyingParty, textOf, type LifecycleHarness, type RelyingParty } from './setup.js';

describe('self-registration and email verification', () => {
  let h: LifecycleHarness;
  let rp: RelyingParty;
  const existing = { email: 'grace@example.test', password: 'a harbour of quiet lanterns', name: 'Grace Hopper' };

  before(async () => {
    h = await bootWithMail({ REGISTRATION_TERMS_URL: 'https://example.test/terms', REGISTRATION_LIMIT_PER_IP: '1000', EMAIL_LIMIT_PER_ACCOUNT: '100' });
    rp = await registerRelyingParty(h.gh);
    await h.gh.context.accounts.create({ ...existing, emailVerified: true });
  });
  after(() => h.close());

  async function registrationPage(agent: UserAgent, url: string) {
    const login = await agent.open(url, atClient);
    assert.match(login.html, /Create an account/);
    return agent.open(new URL(formAction(login.html, /\/login$/).replace(/\/login$/, '/register'), login.url).href);
  }

  it('registers from the sign-in page, verifies the address by mail, and continues to the app', async () => {
    const agent = new UserAgent();
    const auth = await authorization(rp);
    const form = await registrationPage(agent, auth.url);
    assert.equal(form.status, 200);
    assert.match(form.html, /href="https:\/\/example.test\/terms"/);

    const sent = await agent.submit(form, formAction(form.html, /\/register$/), {
      name: 'Ada Byron', email: 'Ada.Byron@Example.test', password: 'steam engines and poetry', terms: 'accepted',
    });
    assert.equal(sent.status, 200);
    assert.match(textOf(sent.html), /Check your inbox We have sent a message to ada\.byron@example\.test/);

    const mail = await h.mail.waitFor((m) => m.to.includes('ada.byron@example.test'));
    assert.equal(mail.subject, 'Verify your email address for Gatehouse');
    assert.match(mail.from, /no-reply@gatehouse\.test/);
    assert.match(mail.html, /Verify my email/);
    const link = linkIn(mail, `${h.gh.issuer}/verify-email?token=`);
    assert.match(link, /token=[A-Za-z0-9_-]{43}$/);

    // the account exists, unverified, and cannot be used to continue before verifying
    const account = await h.gh.context.accounts.findByEmail('ada.byron@example.test');
    assert.equal(account?.emailVerified, false);
    const early = await agent.submit(sent, formAction(sent.html, /\/register\/continue$/), {});
    assert.equal(early.status, 400);
    assert.match(textOf(early.html), /not verified yet/);

    // a mail scanner fetching the link does not use it up: the page asks for a click
    const confirm = await agent.open(link);
    assert.match(textOf(confirm.html), /Confirm that ada\.byron@example\.test is your email address/);
    const verified = await agent.submit(confirm, '/verify-email', {});
    assert.match(textOf(verified.html), /Your email address is verified/);
    assert.equal((await h.gh.context.accounts.findByEmail('ada.byron@example.test'))?.emailVerified, true);

    // continue to the app: signed in as the new account, with email_verified in the ID token
    const done = await agent.submit(verified, formAction(verified.html, /\/register\/continue$/), {}, atClient);
    const page = done.url.startsWith('http://127.0.0.1:9') ? done : await agent.submit(done, formAction(done.html, /\/consent$/), {}, atClient);
    const tokens = await auth.finish(page.url);
    const claims = tokens.claims()!;
    assert.equal(claims.email, 'ada.byron@example.test');
    assert.equal(claims.email_verified, true);
    assert.equal(claims.name, 'Ada Byron');
    assert.equal(claims.sub, account!.id);

    // and the password chosen at registration signs in
    const again = await authorization(rp);
    await signIn(new UserAgent(), again.url, 'http://127.0.0.1:9/callback', { email: 'ada.byron@example.test', password: 'steam engines and poetry' });
  });

  it('answers a taken address exactly like a new one, and tells the owner instead', async () => {
    const agent = new UserAgent();
    const form = await registrationPage(agent, (await authorization(rp)).url);
    const sent = await agent.submit(form, formAction(form.html, /\/register$/), {
      email: existing.email, password: 'another long enough password', terms: 'accepted',
    });
    assert.equal(sent.status, 200);
    assert.match(textOf(sent.html), new RegExp(`Check your inbox We have sent a message to ${existing.email}`));
    const mail = await h.mail.waitFor((m) => m.to.includes(existing.email));
    assert.equal(mail.subject, 'Someone tried to create a Gatehouse account with your email');
    assert.match(mail.text, /You already have one, so no new account was made/);
    assert.match(mail.text, new RegExp(`${h.gh.issuer}/password/forgot`));
    assert.doesNotMatch(mail.text, /token=/);
    // the owner's account is untouched
    assert.ok(await h.gh.context.accounts.authenticate(existing.email, existing.password));
  });

  it('explains a refused password in plain words, without creating anything', async () => {
    const agent = new UserAgent();
    let form = await agent.open(`${h.gh.issuer}/register`);
    const cases: [string, RegExp][] = [
      ['short pass', /Use at least 12 characters/],
      ['passwordpassword', /list of common passwords and passwords exposed in data breaches/],
      ['qwertyuiop123', /list of common passwords/],
      ['turing.machine.enthusiast', /Do not use your name, your email address or the name of this service/],
      ['abababababababab', /repeats the same few characters/],
    ];
    for (const [password, message] of cases) {
      form = await agent.submit(form, '/register', { email: 'turing@example.test', name: 'Alan Turing', password, terms: 'accepted' });
      assert.equal(form.status, 400, password);
      assert.match(textOf(form.html), message, password);
      assert.match(form.html, /value="turing@example.test"/); // what was typed stays, except the password
    }
    form = await agent.submit(form, '/register', { email: 'turing@example.test', password: 'a perfectly fine passphrase' });
    assert.equal(form.status, 400);
    assert.match(textOf(form.html), /accept the terms of service/);
    form = await agent.submit(form, '/register', { email: 'not-an-address', password: 'a perfectly fine passphrase', terms: 'accepted' });
    assert.match(textOf(form.html), /Enter your email address/);
    assert.equal(await h.gh.context.accounts.findByEmail('turing@example.test'), undefined);
  });

  it('verification links are single-use, superseded by newer ones, and expire', async () => {
    const account = await h.gh.context.accounts.create({ email: 'hedy@example.test', password: 'frequency hopping spread spectrum' });
    const verification = h.gh.context.lifecycle.verification;
    await verification.send(account, {}, {});
    const first = linkIn(await h.mail.waitFor((m) => m.to.includes('hedy@example.test')), `${h.gh.issuer}/verify-email?token=`);
    await verification.send(account, {}, {});
    const second = linkIn(await h.mail.waitFor((m) => m.to.includes('hedy@example.test')), `${h.gh.issuer}/verify-email?token=`);

    const agent = new UserAgent();
    const superseded = await agent.open(first);
    assert.equal(superseded.status, 410);
    assert.match(textOf(superseded.html), /A newer link was sent/);

    const confirm = await agent.open(second);
    const ok = await agent.submit(confirm, '/verify-email', {});
    assert.match(textOf(ok.html), /is now verified/);
    const reused = await agent.submit(confirm, '/verify-email', {});
    assert.equal(reused.status, 410);
    assert.match(textOf(reused.html), /This link has already been used/);

    // an expired link: issued (through the store) with an expiry in the past
    const { hashToken } = await import('../../src/accounts/account-tokens.js');
    const token = 'e'.repeat(43);
    await h.gh.context.store.accountTokens.issue({
      tokenHash: hashToken(token), purpose: 'verify-email', accountId: account.id, email: account.email, interactionUid: null,
      createdAt: Date.now() - 90_000_000, expiresAt: Date.now() - 3_600_000, consumedAt: null, supersededAt: null,
    });
    const expired = await agent.open(`${h.gh.issuer}/verify-email?token=${token}`);
    assert.equal(expired.status, 410);
    assert.match(textOf(expired.html), /This link has expired/);
    const unknown = await agent.open(`${h.gh.issuer}/verify-email?token=${'x'.repeat(43)}`);
    assert.equal(unknown.status, 400);
    assert.match(textOf(unknown.html), /This link is not valid/);
  });

  it('holds back tokens until the address is verified when the client requires it', async () => {
    const strict = await registerRelyingParty(h.gh, { client_name: 'Strict RP', gatehouse_require_verified_email: true });
    await h.gh.context.accounts.create({ email: 'katherine@example.test', password: 'orbital mechanics by hand' });
    const agent = new UserAgent();
    const auth = await authorization(strict);
    const login = await agent.open(auth.url, atClient);
    const prompt = await agent.submit(login, formAction(login.html, /\/login$/), { email: 'katherine@example.test', password: 'orbital mechanics by hand' }, atClient);
    assert.ok(!atClient(prompt.url), 'no code before the address is verified');
    assert.match(textOf(prompt.html), /Strict RP needs a verified email address before you can continue/);

    // prompt=none cannot skip it (OpenID Connect Core §3.1.2.6: interaction_required)
    const silent = await authorization(strict, { prompt: 'none' });
    const refused = await agent.open(silent.url, atClient);
    assert.equal(new URL(refused.url).searchParams.get('error'), 'interaction_required');

    const sent = await agent.submit(prompt, formAction(prompt.html, /\/verify-email\/send$/), {});
    assert.match(textOf(sent.html), /We have sent a link to katherine@example\.test/);
    const notYet = await agent.submit(sent, formAction(sent.html, /\/verify-email\/continue$/), {});
    assert.equal(notYet.status, 400);
    const link = linkIn(await h.mail.waitFor((m) => m.to.includes('katherine@example.test')), `${h.gh.issuer}/verify-email?token=`);
    const verified = await agent.submit(await agent.open(link), '/verify-email', {});
    const done = await agent.submit(verified, formAction(verified.html, /\/verify-email\/continue$/), {}, atClient);
    const page = atClient(done.url) ? done : await agent.submit(done, formAction(done.html, /\/consent$/), {}, atClient);
    const tokens = await auth.finish(page.url);
    assert.equal(tokens.claims()!.email_verified, true);
  });

  it('rejects non-boolean lifecycle client metadata', async () => {
    await assert.rejects(
      h.gh.context.clients.create({ redirect_uris: ['https://rp.example.test/cb'], gatehouse_require_verified_email: 'yes' }),
      (err: { error_description?: string }) => err.error_description === 'gatehouse_require_verified_email must be a boolean',
    );
  });
});

describe('registration turned off', () => {
  let h: LifecycleHarness;
  before(async () => {
    h = await bootWithMail({ REGISTRATION_ENABLED: 'false' });
  });
  after(() => h.close());

  it('has no standalone page and no link on the sign-in page, unless a client turns it on', async () => {
    assert.equal((await new UserAgent().open(`${h.gh.issuer}/register`)).status, 404);
    const plain = await registerRelyingParty(h.gh);
    const agent = new UserAgent();
    const login = await agent.open((await authorization(plain)).url, atClient);
    assert.doesNotMatch(login.html, /Create an account/);
    assert.match(login.html, /Forgot your password\?/);
    const uid = /\/interaction\/([^/"]+)\/login/.exec(login.html)![1];
    assert.equal((await agent.open(`${h.gh.issuer}/interaction/${uid}/register`)).status, 404);

    const open = await registerRelyingParty(h.gh, { gatehouse_self_registration: true });
    const login2 = await new UserAgent().open((await authorization(open)).url, atClient);
    assert.match(login2.html, /Create an account/);
  });
});
