/**
 * The `claims` request parameter (OpenID Connect Core §5.5): claims placed in the ID token or the userinfo
 * response as asked, and an essential `acr` (§5.5.1.1) that drives the second factor; a session that cannot
 * be one of the requested values ends the request with unmet_authentication_requirements.
 */
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { UserAgent, type Page } from '../helpers/user-agent.js';
import { authorizationRequest, consentIfAsked, isLoginPage, isMfaPage, secretOn, submitMfa, submitPassword, totpCode, recoveryCodesOn } from '../mfa/helpers.js';

const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const atClient = (u: string) => u.startsWith(REDIRECT_URI);
const MFA = 'urn:gatehouse:acr:mfa';
const PASSWORD = 'urn:gatehouse:acr:password';
const essentialAcr = (values: string[]) => JSON.stringify({ id_token: { acr: { essential: true, values } } });

describe('the claims request parameter (OIDC Core §5.5)', () => {
  let gh: TestGatehouse;
  let rp: oidc.Configuration;
  let n = 0;

  async function newUser() {
    const user = { email: `ada${++n}@example.test`, password: `analytical-engine-${n}`, name: `Ada Lovelace ${n}` };
    await gh.context.accounts.create({ ...user, emailVerified: true });
    return user;
  }

  async function exchange(page: Page, req: Awaited<ReturnType<typeof authorizationRequest>>) {
    assert.ok(atClient(page.url), `expected the client's redirect URI, got ${page.status} ${page.url}: ${page.html.slice(0, 300)}`);
    return oidc.authorizationCodeGrant(rp, new URL(page.url), { pkceCodeVerifier: req.verifier, expectedState: req.state, expectedNonce: req.nonce });
  }

  /** The in-login enrolment: scan, confirm, continue; returns the TOTP secret and the page after it. */
  async function enrol(agent: UserAgent, page: Page) {
    assert.match(page.html, /Set up two-step verification/);
    const secret = secretOn(page);
    const codes = await submitMfa(agent, page, 'enrol', await totpCode(secret, -1), atClient);
    assert.equal(recoveryCodesOn(codes).length, 10);
    const continueUrl = /<a class="button primary" href="([^"]+)"/.exec(codes.html)![1]!.replace(/&amp;/g, '&');
    return { secret, next: await agent.open(new URL(continueUrl, gh.issuer).href, atClient) };
  }

  before(async () => {
    gh = await bootGatehouse();
    const c = await gh.context.clients.create({
      client_name: 'Claims RP', redirect_uris: [REDIRECT_URI], grant_types: ['authorization_code', 'refresh_token'],
      token_endpoint_auth_method: 'client_secret_basic', scope: 'openid profile email',
    });
    rp = await oidc.discovery(new URL(gh.issuer), c.client_id, String(c.client_secret), undefined, { execute: [oidc.allowInsecureRequests] });
  });
  after(() => gh.close());

  it('says claims_parameter_supported in discovery', () => {
    assert.equal(rp.serverMetadata().claims_parameter_supported, true);
  });

  it('places each requested claim where it was asked for, after consent to it', async () => {
    const user = await newUser();
    const agent = new UserAgent();
    const req = await authorizationRequest(rp, REDIRECT_URI, {
      scope: 'openid', claims: JSON.stringify({ userinfo: { email: null }, id_token: { name: { essential: true } } }),
    });
    const afterPassword = await submitPassword(agent, await agent.open(req.url, atClient), user, atClient);
    // the consent page names what the claims release, in plain words
    assert.match(afterPassword.html, /See your name/);
    assert.match(afterPassword.html, /See your email address/);
    const tokens = await exchange(await consentIfAsked(agent, afterPassword, atClient), req);
    const idToken = tokens.claims()!;
    assert.equal(idToken.name, user.name);
    assert.equal(idToken.email, undefined, 'email was asked for userinfo only');
    const info = await oidc.fetchUserInfo(rp, tokens.access_token, idToken.sub);
    assert.equal(info.email, user.email);
    assert.equal(info.name, undefined, 'name was asked for the ID token only');
  });

  it('refuses a malformed claims parameter with invalid_request', async () => {
    for (const claims of [
      '{not json', '"a string"', JSON.stringify({ id_token: { name: true } }),
      JSON.stringify({ id_token: { acr: { essential: true, values: MFA } } }),
      JSON.stringify({ id_token: { acr: { essential: 'yes', values: [MFA] } } }),
      JSON.stringify({ id_token: { acr: { value: [MFA] } } }),
      // roles: released only by the roles scope, which this client did not register
      JSON.stringify({ userinfo: { roles: null } }),
    ]) {
      const req = await authorizationRequest(rp, REDIRECT_URI, { claims });
      const agent = new UserAgent();
      const page = await agent.open(req.url, atClient);
      const url = new URL(page.url);
      if (atClient(page.url)) assert.equal(url.searchParams.get('error'), 'invalid_request', claims);
      else assert.ok(page.status === 400 && /invalid_request/.test(page.html), `${claims}: ${page.status} ${page.url}`);
    }
  });

  it('an essential acr of mfa steps a password session up, and a TOTP account is asked for its code', async () => {
    const user = await newUser();
    const agent = new UserAgent();
    const first = await authorizationRequest(rp, REDIRECT_URI);
    const plain = (await exchange(await consentIfAsked(agent, await submitPassword(agent, await agent.open(first.url, atClient), user, atClient), atClient), first)).claims()!;
    assert.equal(plain.acr, PASSWORD);

    // the same browser session: no password again, the second factor (here its enrolment)
    const up = await authorizationRequest(rp, REDIRECT_URI, { claims: essentialAcr([MFA]) });
    const prompt = await agent.open(up.url, atClient);
    assert.ok(!isLoginPage(prompt) && isMfaPage(prompt), 'the mfa prompt runs, not the login page');
    const { secret, next } = await enrol(agent, prompt);
    const stepped = (await exchange(await consentIfAsked(agent, next, atClient), up)).claims()!;
    assert.equal(stepped.acr, MFA);
    assert.equal(stepped.sub, plain.sub);

    // a fresh browser, the account now has TOTP: password, then the code, then an ID token with acr mfa
    const other = new UserAgent();
    const req = await authorizationRequest(rp, REDIRECT_URI, { claims: essentialAcr([MFA]) });
    const mfaPage = await submitPassword(other, await other.open(req.url, atClient), user, atClient);
    assert.ok(isMfaPage(mfaPage), 'the second factor is asked');
    const done = await submitMfa(other, mfaPage, 'totp', await totpCode(secret, 1), atClient);
    assert.equal((await exchange(await consentIfAsked(other, done, atClient), req)).claims()!.acr, MFA);

    // Core §5.5.1.1: the session's acr (mfa) is not one of the essential values: an error, not another acr
    const unmet = await authorizationRequest(rp, REDIRECT_URI, { claims: essentialAcr([PASSWORD]) });
    const answer = new URL((await other.open(unmet.url, atClient)).url);
    assert.equal(answer.searchParams.get('error'), 'unmet_authentication_requirements');
    assert.equal(answer.searchParams.get('state'), unmet.state);
  });
});
