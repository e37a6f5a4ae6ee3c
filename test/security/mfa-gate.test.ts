/**
 * Issue 10 item 1: the second factor is a gate, not a step. A browser that gave the right password of
 * an account with an enrolled second factor (TOTP, or only a passkey) holds an oidc-provider session
 * with the accountId at acr password, on the mfa page. As an attacker with that browser (and the CSRF
 * token the mfa page hands it) we try every route of the account router, prompt=none and consent, and
 * check that each is refused or sent to finish the second factor, and that nothing changed in the store.
 * Also: a full MFA sign-in older than ACCOUNT_REAUTH_MAX_AGE cannot change factors or the password.
 */
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import type { Context, Next } from 'koa';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { startRelyingParty, type TestRelyingParty } from '../helpers/relying-party.js';
import { UserAgent, formAction, type Page } from '../helpers/user-agent.js';
import { isLoginPage, isMfaPage, submitMfa, submitPassword, totpCode } from '../mfa/helpers.js';
import { createAccountRouter } from '../../src/account-pages/router.js';
import { ACR } from '../../src/assurance/acr-amr.js';

type Fixture = { email: string; password: string; id: string; recoveryCode: string; credentialId?: string; totpSecret?: string };

describe('security: the second factor is a gate, not a step (issue 10 item 1)', () => {
  let gh: TestGatehouse;
  let rp: TestRelyingParty;
  let clientId: string;
  let n = 0;

  before(async () => {
    gh = await bootGatehouse();
    rp = await startRelyingParty();
    const client = await gh.context.clients.create({
      client_name: 'Gate RP', redirect_uris: [rp.redirectUri], grant_types: ['authorization_code', 'refresh_token'], token_endpoint_auth_method: 'client_secret_basic',
    });
    clientId = client.client_id;
    rp.connect(await oidc.discovery(new URL(gh.issuer), client.client_id, String(client.client_secret), undefined, { execute: [oidc.allowInsecureRequests] }));
  });
  after(async () => {
    await rp?.close();
    await gh?.close();
  });

  const atRp = (u: string) => u.startsWith(rp.origin);

  async function newAccount(factor: 'totp' | 'passkey'): Promise<Fixture> {
    const email = `gate${++n}@example.test`;
    const password = `the password of gate number ${n}`;
    const account = await gh.context.accounts.create({ email, password, emailVerified: true });
    const { totp, recoveryCodes } = gh.context.factors;
    const fixture: Fixture = { email, password, id: account.id, recoveryCode: '' };
    if (factor === 'totp') {
      const enrolment = (await totp.startEnrolment(account.id, email))!;
      assert.ok(await totp.confirmEnrolment(account.id, await totpCode(enrolment.secret, -1)));
      fixture.totpSecret = enrolment.secret;
    } else {
      // a registered passkey at store level (its public key is never used: this browser never gets that far)
      fixture.credentialId = `cred-${n}`;
      await gh.context.store.factors.createWebAuthn({
        id: fixture.credentialId, accountId: account.id, name: 'Laptop passkey', publicKey: 'pQECAyYgASFYIA', counter: 0,
        transports: ['internal'], deviceType: 'multiDevice', backedUp: true, createdAt: Date.now(), lastUsedAt: null,
      });
    }
    fixture.recoveryCode = (await recoveryCodes.regenerate(account.id))[0]!;
    return fixture;
  }

  /** Everything a refused request must leave as it was. */
  async function snapshot(f: Fixture) {
    const { store } = gh.context;
    const ids = async (model: string) => (await store.oidc.findByAccountId(model, f.id)).map((p) => String(p.jti)).sort();
    return {
      account: await store.accounts.findById(f.id),
      totp: await store.factors.findTotp(f.id),
      webauthn: await store.factors.listWebAuthn(f.id),
      recoveryCodesLeft: await gh.context.factors.recoveryCodes.remaining(f.id),
      sessions: await ids('Session'),
      grants: await ids('Grant'),
    };
  }

  /** What a snapshot cannot see: the old password and the old recovery codes still work (checked last). */
  async function secretsStillWork(f: Fixture) {
    assert.ok(await gh.context.accounts.authenticate(f.email, f.password), 'the password was not changed');
    assert.equal(await gh.context.factors.recoveryCodes.use(f.id, f.recoveryCode), true, 'the recovery codes were not regenerated');
  }

  /** The attacker's browser: the right password, then it stops on the mfa page. */
  async function halfSignedIn(f: Fixture) {
    const agent = new UserAgent();
    const page = await submitPassword(agent, await agent.open((await rp.authorizationUrl()).href, atRp), f, atRp);
    assert.ok(isMfaPage(page), `expected the mfa prompt, got ${page.status} ${page.url}`);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page.html)![1]!;
    // the premise of the attack: the provider's session already names the account, at acr password
    const sessions = await gh.context.store.oidc.findByAccountId('Session', f.id);
    const half = sessions.find((s) => s.acr === ACR.password);
    assert.ok(half?.uid, 'a password-only session of the account exists');
    return { agent, page, csrf, uid: String(half.uid) };
  }

  /** Every route of the account router (as mounted by create-app.ts), but the sign-in callback itself. */
  function accountRoutes(): { method: string; path: string }[] {
    const noCsrf = async (_ctx: Context, next: Next) => next();
    const router = createAccountRouter({ ...gh.context.accountPages, render: gh.context.render, csrf: noCsrf });
    const routes = router.stack
      .filter((layer) => layer.methods.length > 0)
      .flatMap((layer) => layer.methods.filter((m) => m !== 'HEAD').map((method) => ({ method, path: String(layer.path) })))
      .filter((r) => r.path !== '/account/callback');
    // the table must cover what the attack is about
    for (const must of ['GET /account', 'GET /account/security', 'POST /account/security/totp/remove', 'POST /account/security/recovery-codes',
      'POST /account/security/passkeys/:id/remove', 'POST /account/password', 'POST /account/security/passkeys/options',
      'POST /account/email', 'POST /account/email/confirm', 'GET /account/data', 'POST /account/delete']) {
      assert.ok(routes.some((r) => `${r.method} ${r.path}` === must), `the account router has ${must}`);
    }
    return routes;
  }

  /** Sends every account route from `agent`, in parallel, as a form and as the page script's JSON. */
  async function sweep(agent: UserAgent, f: Fixture, csrf: string, params: Record<string, string>) {
    const form = {
      _csrf: csrf, name: 'Mallory', code: '123456', credential: '{}', current_password: f.password,
      new_password: 'mallory owns this account now', confirm_password: 'mallory owns this account now', sign_out_others: 'yes',
    };
    const requests = accountRoutes().flatMap(({ method, path }) => {
      const url = `${gh.issuer}${path.replace(/:(\w+)/g, (_, name: string) => encodeURIComponent(params[name] ?? 'x'))}`;
      if (method === 'GET') return [{ method, path, accept: 'text/html', send: () => agent.fetch(url, { headers: { accept: 'text/html' } }) }];
      return ['text/html', 'application/json'].map((accept) => ({
        method, path, accept,
        send: () => agent.fetch(url, { method, headers: { accept, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form) }),
      }));
    });
    return Promise.all(requests.map(async (r) => {
      const res = await r.send();
      const body = await res.text();
      return { ...r, status: res.status, location: res.headers.get('location'), body };
    }));
  }

  /** Refused, or sent to the account client's sign-in with acr_values for the second factor. */
  function assertGated(results: Awaited<ReturnType<typeof sweep>>, extra: Record<string, string> = {}) {
    for (const r of results) {
      const what = `${r.method} ${r.path} (${r.accept}) answered ${r.status}`;
      if (r.status === 401) {
        assert.equal(r.accept, 'application/json', what);
        assert.equal((JSON.parse(r.body) as { error: string }).error, 'login_required', what);
        continue;
      }
      assert.equal(r.status, 302, what);
      const to = new URL(r.location!, gh.issuer);
      assert.equal(`${to.origin}${to.pathname}`, `${gh.issuer}/auth`, what);
      assert.equal(to.searchParams.get('client_id'), 'gatehouse-account', what);
      assert.equal(to.searchParams.get('acr_values'), ACR.mfa, `${what}: asks for the second factor`);
      for (const [k, v] of Object.entries(extra)) assert.equal(to.searchParams.get(k), v, `${what}: ${k}`);
    }
  }

  for (const factor of ['totp', 'passkey'] as const) {
    describe(`an account whose second factor is ${factor === 'totp' ? 'an authenticator app' : 'only a passkey'}`, () => {
      let f: Fixture;
      let otherUid: string;

      before(async () => {
        f = await newAccount(factor);
        if (factor === 'totp') {
          // the owner's own browser, fully signed in to the RP: a session and a grant the attacker would like to end
          const owner = new UserAgent();
          const mfa = await submitPassword(owner, await owner.open((await rp.authorizationUrl()).href, atRp), f, atRp);
          let done = await submitMfa(owner, mfa, 'totp', await totpCode(f.totpSecret!, 0), atRp);
          if (done.html.includes('/consent"')) done = await owner.submit(done, formAction(done.html, /\/consent$/), {}, atRp);
          await owner.open(done.url);
          assert.ok(rp.callbacks.at(-1)?.tokens, 'the owner signed in to the RP');
        } else {
          const grant = new gh.context.providers.current.Grant({ accountId: f.id, clientId });
          grant.addOIDCScope('openid');
          await grant.save();
        }
        const sessions = await gh.context.store.oidc.findByAccountId('Session', f.id);
        otherUid = String(sessions[0]?.uid ?? 'none');
      });

      it('every /account GET and POST from the half-signed-in browser is refused or sent to the second factor; nothing changes', async () => {
        const before = await snapshot(f);
        const { agent, csrf, uid } = await halfSignedIn(f);
        const during = await snapshot(f);
        const params = { uid: factor === 'totp' ? otherUid : uid, clientId, id: f.credentialId ?? 'x' };
        // twice: each route once alone would do, but an attacker sends them all at once, and again
        assertGated([...(await sweep(agent, f, csrf, params)), ...(await sweep(agent, f, csrf, params))]);

        assert.deepEqual(await snapshot(f), during, 'no factor, recovery code, password, name, session or grant changed');
        assert.deepEqual({ ...before, sessions: [] }, { ...during, sessions: [] });

        // following the redirect ends on the mfa prompt for this account, never on an account page
        const followed = await agent.open(`${gh.issuer}/account/security`);
        assert.ok(isMfaPage(followed), `the account pages send the half session to the second factor, got ${followed.url}`);
        assert.match(followed.html, new RegExp(f.email.replace(/\./g, '\\.')));
        await secretsStillWork(f);
      });

      it('prompt=none with the half session answers interaction_required to the redirect_uri, not a code', async () => {
        const { agent } = await halfSignedIn(f);
        const seen = rp.callbacks.length;
        const page = await agent.open((await rp.authorizationUrl({ prompt: 'none' })).href);
        assert.ok(atRp(page.url), `back at the RP, got ${page.url}`);
        const callback = rp.callbacks.at(-1)!;
        assert.equal(rp.callbacks.length, seen + 1);
        // OpenID Connect Core §3.1.2.6
        assert.ok(['interaction_required', 'login_required'].includes(callback.url.searchParams.get('error') ?? ''), callback.url.href);
        assert.equal(callback.url.searchParams.get('code'), null);
        assert.equal(callback.tokens, undefined);
      });

      it('consent is not reachable: a new request lands on the mfa prompt, and posting the consent form is refused', async () => {
        const { agent } = await halfSignedIn(f);
        const seen = rp.callbacks.length;
        const grantsBefore = (await snapshot(f)).grants;
        const page: Page = await agent.open((await rp.authorizationUrl({ prompt: 'consent', scope: 'openid email offline_access' })).href, atRp);
        assert.ok(isMfaPage(page), `expected the mfa prompt, got ${page.url}`);
        assert.ok(!page.html.includes('/consent"'), 'no consent form before the second factor');
        const csrf = /name="_csrf" value="([^"]+)"/.exec(page.html)![1]!;
        const uid = new URL(page.url).pathname.split('/')[2]!;
        const forged = await agent.fetch(`${gh.issuer}/interaction/${uid}/consent`, {
          method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ _csrf: csrf }),
        });
        assert.equal(forged.status, 400);
        await forged.body?.cancel();
        assert.equal(rp.callbacks.length, seen, 'the RP got nothing');
        assert.deepEqual((await snapshot(f)).grants, grantsBefore, 'no grant was made');
      });
    });
  }

  it('a full MFA sign-in older than ACCOUNT_REAUTH_MAX_AGE cannot change factors, recovery codes or the password', async () => {
    const f = await newAccount('totp');
    const agent = new UserAgent();
    const mfa = await submitPassword(agent, await agent.open(`${gh.issuer}/account/security`), f);
    const security = await submitMfa(agent, mfa, 'totp', await totpCode(f.totpSecret!, 0));
    assert.match(security.url, /\/account\/security$/);
    assert.match(security.html, /Two-step verification is <strong>on<\/strong>/);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(security.html)![1]!;

    // an hour-old sign-in: move the session's login time back (the test's stand-in for waiting)
    const [session] = (await gh.context.store.oidc.findByAccountId('Session', f.id)).filter((s) => s.acr === ACR.mfa);
    await gh.context.store.oidc.upsert('Session', String(session!.jti), { ...session!, loginTs: Number(session!.loginTs) - 3600 }, 3600);
    const before = await snapshot(f);

    const post = (path: string, accept = 'text/html') => agent.fetch(`${gh.issuer}${path}`, {
      method: 'POST', headers: { accept, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: csrf, current_password: f.password, new_password: 'a stale session password', confirm_password: 'a stale session password' }),
    });
    const attempts = await Promise.all([
      post('/account/security/totp/remove'), post('/account/security/totp/remove'), post('/account/security/recovery-codes'),
      post('/account/security/passkeys/x/remove'), post('/account/password'),
    ]);
    for (const res of attempts) {
      assert.equal(res.status, 302);
      const to = new URL(res.headers.get('location')!);
      assert.equal(to.searchParams.get('max_age'), '900');
      assert.equal(to.searchParams.get('acr_values'), ACR.mfa, 'the new sign-in must reach the account level again');
    }
    const json = await post('/account/security/passkeys/options', 'application/json');
    assert.equal(json.status, 401);
    assert.equal(((await json.json()) as { error: string }).error, 'login_required');
    assert.deepEqual(await snapshot(f), before);

    // the way out: password and second factor again, and then the removal works
    // (each parallel refusal set its own sign-in state cookie; start one clean sign-in from the page)
    const login = await agent.open(`${gh.issuer}/account/security`);
    assert.ok(isLoginPage(login), 'max_age asks for the password again');
    const again = await submitPassword(agent, login, f);
    assert.ok(isMfaPage(again), 'and the second factor again');
    const back = await submitMfa(agent, again, 'totp', await totpCode(f.totpSecret!, 1));
    assert.match(back.url, /\/account\/security$/);
    const removed = await agent.submit(back, '/account/security/totp/remove', {});
    assert.match(removed.url, /notice=totp-removed/);
    assert.equal(await gh.context.factors.totp.status(f.id), 'none');
  });
});
