/**
 * Who must use a second factor (per client, per role, globally), step-up with acr_values and max_age,
 * and the account pages: sessions, connected apps (a revoked grant's refresh token stops working),
 * password change, and the refusal to remove the last factor while a policy requires one.
 */
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { UserAgent, formAction, type Page } from '../helpers/user-agent.js';
import {
  authorizationRequest, consentIfAsked, isLoginPage, isMfaPage, recoveryCodesOn, secretOn, submitMfa, submitPassword, totpCode,
} from './helpers.js';

const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const atClient = (u: string) => u.startsWith(REDIRECT_URI);

describe('MFA policies, step-up and the account pages', () => {
  let gh: TestGatehouse;
  let plainRp: oidc.Configuration;
  let strictRp: oidc.Configuration;
  let n = 0;

  async function newUser(roles: string[] = []) {
    const user = { email: `user${++n}@example.test`, password: `password-number-${n}` };
    await gh.context.accounts.create({ ...user, emailVerified: true });
    if (roles.length) await gh.context.accounts.setRoles(user.email, roles);
    return user;
  }

  async function rpFor(metadata: Record<string, unknown>) {
    const client = await gh.context.clients.create({
      redirect_uris: [REDIRECT_URI], grant_types: ['authorization_code', 'refresh_token'], token_endpoint_auth_method: 'client_secret_basic', ...metadata,
    });
    return oidc.discovery(new URL(gh.issuer), client.client_id, String(client.client_secret), undefined, { execute: [oidc.allowInsecureRequests] });
  }

  before(async () => {
    gh = await bootGatehouse({ MFA_REQUIRED_ROLES: 'admin,ops' });
    for (const name of ['admin', 'ops', 'staff', 'support']) await gh.context.roles.create({ name });
    plainRp = await rpFor({ client_name: 'Plain RP' });
    strictRp = await rpFor({ client_name: 'Strict RP', gatehouse_require_mfa: true });
  });
  after(() => gh.close());

  async function exchange(rp: oidc.Configuration, page: Page, req: Awaited<ReturnType<typeof authorizationRequest>>) {
    assert.ok(atClient(page.url), `expected the client's redirect URI, got ${page.status} ${page.url}: ${page.html.slice(0, 300)}`);
    return oidc.authorizationCodeGrant(rp, new URL(page.url), { pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce });
  }

  /** On the in-login enrolment page: scans, confirms, saves the codes, continues. */
  async function enrolDuringLogin(agent: UserAgent, page: Page) {
    assert.match(page.html, /Set up two-step verification/);
    const secret = secretOn(page);
    const codes = await submitMfa(agent, page, 'enrol', await totpCode(secret, -1), atClient);
    assert.equal(recoveryCodesOn(codes).length, 10);
    const continueUrl = /<a class="button primary" href="([^"]+)"/.exec(codes.html)![1]!.replace(/&amp;/g, '&');
    return { secret, next: await agent.open(new URL(continueUrl, gh.issuer).href, atClient) };
  }

  it('registers gatehouse_require_mfa as client metadata (a boolean) through oidc-provider', async () => {
    await assert.rejects(
      gh.context.clients.create({ redirect_uris: [REDIRECT_URI], gatehouse_require_mfa: 'yes' }),
      (err: Error & { error_description?: string }) => err.error_description === 'gatehouse_require_mfa must be a boolean',
    );
  });

  it('a client that requires MFA makes an account without a factor enrol TOTP during sign-in', async () => {
    const user = await newUser();
    const agent = new UserAgent();
    const req = await authorizationRequest(strictRp, REDIRECT_URI);
    const afterPassword = await submitPassword(agent, await agent.open(req.url, atClient), user, atClient);
    const { next } = await enrolDuringLogin(agent, afterPassword);
    const tokens = await exchange(strictRp, await consentIfAsked(agent, next, atClient), req);
    assert.deepEqual(tokens.claims()!.amr, ['pwd', 'otp', 'mfa']);
    assert.equal(tokens.claims()!.acr, 'urn:gatehouse:acr:mfa');
  });

  it('password alone without factors; acr_values steps the session up without the password again; max_age=0 asks again', async () => {
    const plain = await newUser();
    const agent = new UserAgent();
    const req = await authorizationRequest(plainRp, REDIRECT_URI);
    const done = await consentIfAsked(agent, await submitPassword(agent, await agent.open(req.url, atClient), plain, atClient), atClient);
    const claims = (await exchange(plainRp, done, req)).claims()!;
    assert.deepEqual(claims.amr, ['pwd']);
    assert.equal(claims.acr, 'urn:gatehouse:acr:password');

    // step-up (OpenID Connect Core §3.1.2.1 acr_values) in the same browser session: no password again, only the second factor
    const up = await authorizationRequest(plainRp, REDIRECT_URI, { acr_values: 'urn:gatehouse:acr:mfa' });
    const prompt = await agent.open(up.url, atClient);
    assert.ok(!isLoginPage(prompt), 'the session is reused: no password page');
    const { next } = await enrolDuringLogin(agent, prompt);
    const stepped = (await exchange(plainRp, await consentIfAsked(agent, next, atClient), up)).claims()!;
    assert.equal(stepped.acr, 'urn:gatehouse:acr:mfa');
    assert.deepEqual(stepped.amr, ['pwd', 'otp', 'mfa']);
    assert.equal(stepped.sub, claims.sub);
    // the password's time stays the authentication time
    assert.equal(stepped.auth_time, claims.auth_time);

    // max_age=0 with acr_values: password and second factor again
    const fresh = await authorizationRequest(plainRp, REDIRECT_URI, { acr_values: 'urn:gatehouse:acr:mfa', max_age: '0' });
    const login = await agent.open(fresh.url, atClient);
    assert.ok(isLoginPage(login), 'max_age=0 asks for the password again');
  });

  it('roles listed in MFA_REQUIRED_ROLES must use a second factor', async () => {
    const admin = await newUser(['admin']);
    const agent = new UserAgent();
    const req = await authorizationRequest(plainRp, REDIRECT_URI);
    const afterPassword = await submitPassword(agent, await agent.open(req.url, atClient), admin, atClient);
    assert.ok(isMfaPage(afterPassword), 'an admin is asked for a second factor');
    const { secret, next } = await enrolDuringLogin(agent, afterPassword);
    await exchange(plainRp, await consentIfAsked(agent, next, atClient), req);

    // removing the only factor is refused while the role requires one, with the reason
    const account = await agent.open(`${gh.issuer}/account/security`);
    assert.equal(account.status, 200);
    assert.match(account.html, /Your organisation requires it/);
    const refused = await agent.submit(account, '/account/security/totp/remove', {});
    assert.equal(refused.status, 409);
    assert.match(refused.html, /This is your last second factor, and your organisation requires one/);
    assert.equal(await gh.context.factors.totp.status((await gh.context.store.accounts.findByEmail(admin.email))!.id), 'active');
    void secret;
  });

  it('a factor can be removed when no policy requires one, and its recovery codes go with it', async () => {
    const user = await newUser();
    const agent = new UserAgent();
    // the first app is set up through the sign-in's mfa prompt (a step-up), then the pages accept the session
    const setup = await submitPassword(agent, await agent.open(`${gh.issuer}/account/security/totp`), user);
    const { next: security } = await enrolDuringLogin(agent, setup);
    assert.match(security.url, /\/account\/security$/);
    const removed = await agent.submit(security, '/account/security/totp/remove', {});
    assert.match(removed.url, /notice=totp-removed/);
    assert.match(removed.html, /The authenticator app was removed/);
    assert.match(removed.html, /Two-step verification is <strong>off<\/strong>/);
    assert.equal(await gh.context.factors.recoveryCodes.remaining((await gh.context.store.accounts.findByEmail(user.email))!.id), 0);
  });

  it('connected apps: disconnecting revokes the grant, and its refresh token stops working', async () => {
    const user = await newUser();
    const agent = new UserAgent();
    const req = await authorizationRequest(plainRp, REDIRECT_URI, { scope: 'openid email offline_access', prompt: 'consent' });
    const done = await consentIfAsked(agent, await submitPassword(agent, await agent.open(req.url, atClient), user, atClient), atClient);
    const tokens = await exchange(plainRp, done, req);
    assert.ok(tokens.refresh_token);
    const refreshed = await oidc.refreshTokenGrant(plainRp, tokens.refresh_token!);

    const apps = await agent.open(`${gh.issuer}/account/apps`);
    assert.equal(apps.status, 200);
    assert.match(apps.html, /Plain RP/);
    assert.doesNotMatch(apps.html, /account<\/strong>/, 'the account pages themselves are not listed');
    const revoked = await agent.submit(apps, formAction(apps.html, /\/revoke$/), {});
    assert.match(revoked.html, /The app was disconnected/);
    assert.doesNotMatch(revoked.html, /Plain RP/);
    await assert.rejects(oidc.refreshTokenGrant(plainRp, refreshed.refresh_token!), (err: oidc.ResponseBodyError) => err.error === 'invalid_grant');
    assert.equal((await oidc.tokenIntrospection(plainRp, refreshed.access_token)).active, false);
  });

  it('sessions: lists where the account is signed in, and signs out another browser', async () => {
    const user = await newUser();
    const laptop = new UserAgent();
    const phone = new UserAgent();
    await submitPassword(laptop, await laptop.open(`${gh.issuer}/account`), user);
    const phoneHome = await submitPassword(phone, await phone.open(`${gh.issuer}/account`), user);
    assert.match(phoneHome.html, /Your account/);

    const list = await laptop.open(`${gh.issuer}/account/sessions`);
    assert.equal((list.html.match(/\/sign-out"/g) ?? []).length, 2);
    assert.match(list.html, /This browser/);
    assert.match(list.html, /with password/);
    const other = [...list.html.matchAll(/<li>[\s\S]*?<\/li>/g)].map((m) => m[0]).find((li) => li.includes('Another browser'))!;
    const action = formAction(other, /\/sign-out$/);
    const after = await laptop.submit({ ...list, html: other }, action, {});
    assert.match(after.html, /That session was signed out/);
    assert.equal((after.html.match(/\/sign-out"/g) ?? []).length, 1);

    // the phone is signed out: its next visit asks for the password
    assert.ok(isLoginPage(await phone.open(`${gh.issuer}/account`)));
  });

  it('changes the password only with the current one', async () => {
    const user = await newUser();
    const agent = new UserAgent();
    const home = await submitPassword(agent, await agent.open(`${gh.issuer}/account`), user);
    const wrong = await agent.submit(home, '/account/password', { current_password: 'not-it', new_password: 'brand-new-password', confirm_password: 'brand-new-password' });
    assert.equal(wrong.status, 401);
    assert.match(wrong.html, /current password is not correct/);
    // unticked: the other browser stays signed in
    const phone = new UserAgent();
    await submitPassword(phone, await phone.open(`${gh.issuer}/account`), user);
    const ok = await agent.submit(home, '/account/password', { current_password: user.password, new_password: 'brand-new-password', confirm_password: 'brand-new-password' });
    assert.match(ok.html, /Your password was changed\./);
    assert.ok(await gh.context.accounts.authenticate(user.email, 'brand-new-password'));
    assert.equal(await gh.context.accounts.authenticate(user.email, user.password), undefined);
    assert.match((await phone.open(`${gh.issuer}/account`)).html, /Your account/);
  });

  it('signs out every other browser when the password changes with the box ticked (the default)', async () => {
    const user = await newUser();
    const laptop = new UserAgent();
    const phone = new UserAgent();
    const home = await submitPassword(laptop, await laptop.open(`${gh.issuer}/account`), user);
    await submitPassword(phone, await phone.open(`${gh.issuer}/account`), user);
    assert.match(home.html, /name="sign_out_others" type="checkbox" value="yes" checked/);
    const ok = await laptop.submit(home, '/account/password', { current_password: user.password, new_password: 'brand-new-password', confirm_password: 'brand-new-password', sign_out_others: 'yes' });
    assert.match(ok.html, /every other browser was signed out/);
    assert.ok(isLoginPage(await phone.open(`${gh.issuer}/account`)), 'the phone must sign in again');
    assert.match((await laptop.open(`${gh.issuer}/account`)).html, /Your account/, 'this browser stays signed in');
  });

  it('refuses account forms without the CSRF token, and pages without a sign-in', async () => {
    const anonymous = new UserAgent();
    const res = await anonymous.fetch(`${gh.issuer}/account/apps`);
    assert.equal(res.status, 302);
    assert.match(res.headers.get('location')!, /\/auth\?client_id=gatehouse-account&response_type=none/);
    const user = await newUser();
    const agent = new UserAgent();
    await submitPassword(agent, await agent.open(`${gh.issuer}/account`), user);
    const forged = await agent.fetch(`${gh.issuer}/account/password`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ current_password: user.password, new_password: 'x'.repeat(12), confirm_password: 'x'.repeat(12) }),
    });
    assert.equal(forged.status, 403);
  });

  it('changing second factors needs a recent sign-in (ACCOUNT_REAUTH_MAX_AGE), then comes back', async () => {
    const user = await newUser();
    const agent = new UserAgent();
    const home = await submitPassword(agent, await agent.open(`${gh.issuer}/account`), user);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(home.html)![1]!;
    // an hour-old sign-in: move the session's login time back (the test's stand-in for waiting)
    const account = await gh.context.store.accounts.findByEmail(user.email);
    const [session] = await gh.context.store.oidc.findByAccountId('Session', account!.id);
    await gh.context.store.oidc.upsert('Session', String(session!.jti), { ...session!, loginTs: Number(session!.loginTs) - 3600 }, 3600);

    const stale = await agent.fetch(`${gh.issuer}/account/security`);
    assert.equal(stale.status, 302);
    const location = new URL(stale.headers.get('location')!);
    assert.equal(location.searchParams.get('max_age'), '900');
    assert.equal(location.searchParams.get('login_hint'), user.email);
    const json = await agent.fetch(`${gh.issuer}/account/security/passkeys/options`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' }, body: new URLSearchParams({ _csrf: csrf }),
    });
    assert.equal(json.status, 401);
    assert.equal(((await json.json()) as { error: string }).error, 'login_required');

    const login = await agent.open(location.href);
    assert.ok(isLoginPage(login), 'max_age asks for the password again');
    const back = await submitPassword(agent, login, user);
    assert.match(back.url, /\/account\/security$/);
    assert.match(back.html, /Security keys and passkeys/);
  });

  it('MFA_REQUIRED applies to every account', async () => {
    await gh.restart({ MFA_REQUIRED: 'true', MFA_REQUIRED_ROLES: '' });
    const user = await newUser();
    const agent = new UserAgent();
    const req = await authorizationRequest(plainRp, REDIRECT_URI);
    const afterPassword = await submitPassword(agent, await agent.open(req.url, atClient), user, atClient);
    assert.ok(isMfaPage(afterPassword));
    assert.match(afterPassword.html, /Set up two-step verification/);
  });
});
