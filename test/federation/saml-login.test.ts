/**
 * SAML 2.0 federation against a real IdP (SimpleSAMLphp, test/helpers/services/saml-idp.ts): the person
 * signs in through headless Chromium from an openid-client relying party, through Gatehouse's login page,
 * the IdP's login page and back, and the ID token carries the mapped claims and roles. Then the refusals:
 * responses captured from the real IdP and tampered with, and responses crafted from them and re-signed
 * with a test key trusted by a second ("forged") IdP entry, each wrong in exactly one way. Every refusal
 * is a friendly error page that creates no account and no session.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import * as oidc from 'openid-client';
import { decodeJwt } from 'jose';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { UserAgent, formAction, hiddenFields, type Page } from '../helpers/user-agent.js';
import { startSamlIdp, type SamlIdp } from '../helpers/services/saml-idp.js';
import { launchBrowser, type TestBrowser } from '../helpers/browser.js';
import { authnRequestFrom, idpMetadata, makeTestKey, rewrite, sign, stripSignatures, type TestKey } from './helpers/saml-crafting.js';
import { createSamlSchemaValidator } from '../../src/federation/saml/schema-validator.js';

// not a port-9 URL: Chromium refuses to navigate to "unsafe" ports before any route can answer
const REDIRECT_URI = 'https://rp.example.test/callback';
const ALICE = {
  username: 'alice',
  password: 'alice-idp-password',
  attributes: { email: ['alice@example.org'], displayName: ['Alice Liddell'], groups: ['admins', 'staff', 'unmapped'] },
};
const REFUSED = /The sign-in answer from (Partner SSO|Forged IdP) could not be accepted/;

describe('SAML 2.0 federation (SimpleSAMLphp IdP)', function () {
  this.timeout(120_000);
  let gh: TestGatehouse;
  let idp: SamlIdp;
  let rp: oidc.Configuration;
  let work: string;
  let forgedKey: TestKey;
  let strict: SamlIdp;
  let spKey: TestKey;
  const sp = (id: string) => ({ entityId: `${gh.issuer}/federation/saml/${id}/metadata`, acs: `${gh.issuer}/federation/saml/${id}/acs` });
  const forgedEntityId = 'https://forged-idp.example.test/idp';
  const PARTNER_API = 'https://portal.partner.example.test';

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'gatehouse-saml-test-'));
    gh = await bootGatehouse();
    idp = await startSamlIdp({ spEntityId: sp('partner').entityId, acsUrl: sp('partner').acs, users: [ALICE] });
    forgedKey = await makeTestKey(work, 'forged-idp');
    // a second IdP that refuses unsigned AuthnRequests, reached over the HTTP-POST binding
    spKey = await makeTestKey(work, 'gatehouse-sp');
    await writeFile(join(work, 'sp.key'), spKey.keyPem);
    await writeFile(join(work, 'sp.crt'), spKey.certPem);
    strict = await startSamlIdp({
      spEntityId: sp('strict').entityId, acsUrl: sp('strict').acs, spCertPem: spKey.certPem, requireSignedRequests: true,
      users: [{ username: 'bob', password: 'bob-idp-password', attributes: { email: ['bob@strict.example.test'] } }],
    });
    await writeFile(join(work, 'strict.xml'), strict.metadataXml);
    await writeFile(join(work, 'partner.xml'), idp.metadataXml);
    await writeFile(join(work, 'forged.xml'), idpMetadata(forgedEntityId, 'http://127.0.0.1:9/forged-sso', forgedKey.certPem));
    const file = join(work, 'federation.json');
    await writeFile(file, JSON.stringify({
      saml: {
        clockSkew: '30s',
        privateKeyFile: join(work, 'sp.key'),
        certificateFile: join(work, 'sp.crt'),
        idps: [
          {
            id: 'partner', name: 'Partner SSO', metadataFile: join(work, 'partner.xml'),
            claims: { email: 'email', name: 'displayName' }, emailVerified: true,
            groupsAttribute: 'groups', roles: { admins: ['admin'], staff: ['staff'] },
            domains: ['example.org'],
          },
          { id: 'forged', name: 'Forged IdP', metadataFile: join(work, 'forged.xml'), claims: { email: 'email' } },
          { id: 'strict', name: 'Strict IdP', metadataFile: join(work, 'strict.xml'), claims: { email: 'email' }, binding: 'post', signAuthnRequests: true },
        ],
      },
    }));
    // the file's group mappings must name role records (issue 14); admin carries a permission of an API
    await gh.context.resources.create({ identifier: PARTNER_API, scopes: { 'partner:admin': 'Administer the partner portal' }, accessTokenTtl: 300 });
    await gh.context.roles.create({ name: 'admin', permissions: [{ resource: PARTNER_API, scope: 'partner:admin' }] });
    await gh.context.roles.create({ name: 'staff' });
    await gh.restart({ FEDERATION_FILE: file });
    const client = await gh.context.clients.create({
      client_name: 'SAML RP', redirect_uris: [REDIRECT_URI], grant_types: ['authorization_code'], token_endpoint_auth_method: 'client_secret_basic',
      scope: 'openid email profile roles partner:admin',
    });
    rp = await oidc.discovery(new URL(gh.issuer), client.client_id, String(client.client_secret), undefined, { execute: [oidc.allowInsecureRequests] });
  });
  after(async () => {
    await gh?.close();
    await idp?.stop();
    await strict?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });
  afterEach(async function () {
    if (this.currentTest?.state === 'failed' && idp) console.error(await idp.logs());
  });

  async function authorization(extra: Record<string, string> = {}) {
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(rp, {
      redirect_uri: REDIRECT_URI, scope: 'openid email profile roles',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', ...extra,
    });
    return { url: url.href, verifier };
  }

  describe('in a real browser', () => {
    let browser: TestBrowser;
    before(async () => {
      browser = await launchBrowser();
    });
    after(async () => {
      await browser?.close();
    });

    it('signs in with "Continue with Partner SSO", then by home-realm discovery, and maps claims and roles into the ID token', async () => {
      const context = await browser.newContext();
      context.setDefaultTimeout(15_000);
      const cspErrors: string[] = [];
      // One tab per sign-in, in one browser context (same cookies): the relying party's callback is not
      // served, so the request to it ends a journey and the tab is left on Chromium's error page.
      const newTab = async () => {
        const tab = await context.newPage();
        tab.on('console', (m) => {
          if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) cspErrors.push(m.text());
        });
        return tab;
      };
      let page = await newTab();
      const atCallback = () => page.waitForRequest((r) => r.url().startsWith(REDIRECT_URI), { timeout: 15_000 }).then((r) => r.url());

      const first = await authorization();
      let callback = atCallback();
      await page.goto(first.url);
      await page.getByRole('button', { name: 'Continue with Partner SSO' }).click();
      await page.waitForURL((u) => u.href.startsWith(idp.loginUrl));
      await page.fill('input[name="username"]', ALICE.username);
      await page.fill('input[name="password"]', ALICE.password);
      await page.press('input[name="password"]', 'Enter');
      // the IdP's page posts the response to our ACS; Gatehouse then asks for consent
      await page.getByRole('button', { name: 'Allow' }).click();
      const tokens = await oidc.authorizationCodeGrant(rp, new URL(await callback), { pkceCodeVerifier: first.verifier });
      const claims = tokens.claims()!;
      assert.equal(claims.email, 'alice@example.org');
      assert.equal(claims.email_verified, true);
      assert.equal(claims.name, 'Alice Liddell');
      assert.deepEqual(claims.roles, ['admin', 'staff'], 'mapped groups only');
      assert.equal(claims.acr, 'urn:gatehouse:acr:federated');
      assert.deepEqual(claims.amr, ['fed']);
      const links = await gh.context.store.federation.linksOf(String(claims.sub));
      assert.deepEqual(links.map((l) => l.providerId), ['partner']);
      assert.match(links[0]!.externalId, /^[0-9a-f]{40}$/, 'linked by the persistent NameID');

      // home-realm discovery: typing an address of the IdP's domain goes to the IdP (its session answers)
      const second = await authorization({ prompt: 'login' });
      page = await newTab();
      callback = atCallback();
      await page.goto(second.url);
      await page.fill('input[name="email"]', 'alice@example.org');
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      const again = (await oidc.authorizationCodeGrant(rp, new URL(await callback), { pkceCodeVerifier: second.verifier })).claims()!;
      assert.equal(again.sub, claims.sub, 'the same linked account');
      assert.deepEqual(cspErrors, []);
      await context.close();
    });
  });

  /** Runs SP-initiated SSO with an HTTP agent up to the IdP's auto-posting form, and returns that form. */
  async function captureResponse(agent: UserAgent, authorizationUrl?: string): Promise<{ xml: string; fields: Record<string, string>; acs: string }> {
    const login = await agent.open(authorizationUrl ?? (await authorization()).url);
    let page = await agent.submit(login, formAction(login.html, /\/federated\/partner$/), {});
    if (page.html.includes('name="AuthState"')) {
      const action = /<form[^>]*action="([^"]*)"/.exec(page.html.slice(page.html.indexOf('AuthState') - 2000))?.[1] ?? '';
      page = await agent.submit(page, action.replace(/&amp;/g, '&'), { ...authStateFields(page.html), username: ALICE.username, password: ALICE.password });
    }
    const action = /<form[^>]*action="([^"]+)"/.exec(page.html)?.[1] ?? '';
    const fields = hiddenFields(page.html, action);
    assert.ok(fields.SAMLResponse, `no SAMLResponse form in ${page.status} ${page.url}:\n${page.html.slice(0, 2000)}`);
    return { xml: Buffer.from(fields.SAMLResponse, 'base64').toString('utf8'), fields, acs: action.replace(/&amp;/g, '&') };
  }

  const authStateFields = (html: string) => ({ AuthState: /name="AuthState"\s+value="([^"]*)"/.exec(html)?.[1]?.replace(/&amp;/g, '&') ?? '' });

  async function post(agent: UserAgent, acs: string, fields: Record<string, string>) {
    return agent.fetch(acs, { method: 'POST', body: new URLSearchParams(fields), headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' } });
  }

  async function expectRefused(agent: UserAgent, acs: string, fields: Record<string, string>, what: string) {
    const accounts = await gh.context.store.accounts.count();
    const res = await post(agent, acs, fields);
    const html = await res.text();
    assert.equal(res.status, 400, `${what}: ${res.status} ${html.slice(0, 300)}`);
    assert.match(html, REFUSED, what);
    assert.ok(!/stack|Error:\s*at /i.test(html), 'no stack trace');
    assert.equal(await gh.context.store.accounts.count(), accounts, `${what}: no account created`);
    assert.ok(![...agent.cookies.keys()].some((c) => c.startsWith('_session')), `${what}: no session`);
  }

  /** Follows an accepted response through consent to the relying party. */
  async function finishAccepted(agent: UserAgent, res: Response): Promise<string> {
    assert.equal(res.status, 303, await res.text());
    const atClient = (u: string) => u.startsWith(REDIRECT_URI);
    let page: Page = await agent.open(new URL(res.headers.get('location')!, gh.issuer).href, atClient);
    if (!atClient(page.url)) page = await agent.submit(page, formAction(page.html, /\/consent$/), {}, atClient);
    assert.ok(atClient(page.url), `${page.status} ${page.url} ${page.html.slice(0, 500)}`);
    return page.url;
  }

  it('the IdP group admins maps to the role admin, and its permission lands in the access token (issue 14)', async () => {
    const agent = new UserAgent();
    const request = await authorization({ resource: PARTNER_API, scope: 'openid partner:admin' });
    const { fields, acs } = await captureResponse(agent, request.url);
    const callback = await finishAccepted(agent, await post(agent, acs, fields));
    const tokens = await oidc.authorizationCodeGrant(rp, new URL(callback), { pkceCodeVerifier: request.verifier }, { resource: PARTNER_API });
    assert.equal(tokens.scope, 'partner:admin');
    assert.deepEqual(decodeJwt(tokens.access_token).aud, PARTNER_API);
  });

  it('serves SP metadata for each IdP: entityID, ACS (HTTP-POST), signed assertions wanted', async () => {
    const res = await fetch(`${gh.issuer}/federation/saml/partner/metadata`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /samlmetadata\+xml/);
    const xml = await res.text();
    assert.ok(xml.includes(`entityID="${sp('partner').entityId}"`));
    assert.match(xml, new RegExp(`AssertionConsumerService[^>]*Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"[^>]*Location="${sp('partner').acs}"`));
    assert.match(xml, /WantAssertionsSigned="true"/);
    assert.equal((await fetch(`${gh.issuer}/federation/saml/nope/metadata`)).status, 404);
  });

  it('refuses a response whose signed content was tampered with, accepts the real one once, and refuses its replay', async () => {
    const agent = new UserAgent();
    const real = await captureResponse(agent);
    assert.equal(real.acs, sp('partner').acs);
    const tampered = real.xml.replace('>alice@example.org<', '>mallory@example.org<');
    assert.notEqual(tampered, real.xml);
    await expectRefused(agent, real.acs, { ...real.fields, SAMLResponse: Buffer.from(tampered).toString('base64') }, 'tampered signature');
    const outside = real.xml.replace(/Destination="[^"]*"/, `Destination="${sp('partner').acs}?x"`);
    await expectRefused(agent, real.acs, { ...real.fields, SAMLResponse: Buffer.from(outside).toString('base64') }, 'tampered Response (outside the assertion)');
    await expectRefused(agent, real.acs, { ...real.fields, RelayState: 'another-relay-state' }, 'RelayState of another request');

    const callback = await finishAccepted(agent, await post(agent, real.acs, real.fields));
    assert.ok(new URL(callback).searchParams.get('code'));
    const replay = new UserAgent();
    await expectRefused(replay, real.acs, real.fields, 'replayed response');
  });

  it('refuses a disabled account\'s valid SAML sign-in with a neutral page, and signs it in again once enabled (issue 13)', async () => {
    const first = new UserAgent();
    const accepted = await captureResponse(first);
    await finishAccepted(first, await post(first, accepted.acs, accepted.fields));
    const account = await gh.context.store.accounts.findByEmail('alice@example.org');
    const target = { scope: {}, account: { id: account!.id }, by: { via: 'test' } };
    await gh.context.accountLifecycle.disable(target);

    const agent = new UserAgent();
    const real = await captureResponse(agent);
    const res = await post(agent, real.acs, real.fields);
    assert.equal(res.status, 303, 'the response itself is valid');
    const atClient = (u: string) => u.startsWith(REDIRECT_URI);
    const page = await agent.open(new URL(res.headers.get('location')!, gh.issuer).href, atClient);
    assert.ok(!atClient(page.url), 'no code for a disabled account');
    assert.equal(page.status, 400);
    assert.match(page.html, /This account cannot sign in here/);
    assert.ok(!/disabled/i.test(page.html), 'the page does not say why');
    assert.ok((await gh.context.store.accounts.findById(account!.id))?.disabledAt, 'still disabled, not refreshed');

    await gh.context.accountLifecycle.enable(target);
    const again = new UserAgent();
    const ok = await captureResponse(again);
    assert.ok(new URL(await finishAccepted(again, await post(again, ok.acs, ok.fields))).searchParams.get('code'));
  });

  it('signs AuthnRequests with the SP key and sends them over HTTP-POST to an IdP that requires it', async () => {
    const agent = new UserAgent();
    const login = await agent.open((await authorization()).url);
    // Gatehouse answers with a self-submitting form (HTTP-POST binding); CSP lets that form reach the IdP
    const bridge = await agent.submit(login, formAction(login.html, /\/federated\/strict$/), {});
    assert.equal(bridge.status, 200);
    assert.match(bridge.headers.get('content-security-policy') ?? '', new RegExp(`form-action 'self'[^;]*${strict.baseUrl}`));
    const fields = hiddenFields(bridge.html, strict.ssoPostUrl);
    const request = Buffer.from(fields.SAMLRequest ?? '', 'base64').toString('utf8');
    assert.match(request, /<ds:Signature\b/, 'the AuthnRequest carries an XML signature');
    const idpPage = await agent.submit(bridge, strict.ssoPostUrl, {});
    assert.ok(!idpPage.html.includes('no signature found'), idpPage.html.slice(0, 1000));
    const action = /<form[^>]*action="([^"]*)"/.exec(idpPage.html.slice(idpPage.html.indexOf('AuthState') - 2000))?.[1] ?? '';
    const answered = await agent.submit(idpPage, action.replace(/&amp;/g, '&'), { ...authStateFields(idpPage.html), username: 'bob', password: 'bob-idp-password' });
    const acs = /<form[^>]*action="([^"]+)"/.exec(answered.html)?.[1] ?? '';
    assert.equal(acs, sp('strict').acs, answered.html.slice(0, 1000));
    await finishAccepted(agent, await post(agent, acs, hiddenFields(answered.html, acs)));
  });

  describe('validly signed but wrong documents (re-signed with the forged IdP key)', () => {
    let realXml = '';
    before(async () => {
      realXml = (await captureResponse(new UserAgent())).xml;
    });

    /** Starts SSO at the forged IdP and returns the AuthnRequest Gatehouse sent (ID, RelayState). */
    async function forgedRequest(agent: UserAgent) {
      const login = await agent.open((await authorization()).url);
      const out = await agent.submit(login, formAction(login.html, /\/federated\/forged$/), {}, (u) => u.startsWith('http://127.0.0.1:9/forged-sso'));
      return authnRequestFrom(out.url);
    }

    const id = () => `_${randomBytes(16).toString('hex')}`;
    function craft(request: { id: string } | undefined, o: Partial<{ audience: string; notOnOrAfter: number; assertionId: string }> = {}) {
      // a person of the forged IdP's own (alice's email already has an account, linked to Partner SSO)
      const forgedPerson = realXml.replace(/>alice@example\.org</g, `>someone-${randomBytes(4).toString('hex')}@forged.example.test<`);
      return rewrite(forgedPerson, {
        issuer: forgedEntityId, destination: sp('forged').acs, audience: o.audience ?? sp('forged').entityId,
        ...(request ? { inResponseTo: request.id } : {}),
        assertionId: o.assertionId ?? id(), responseId: id(), notOnOrAfter: o.notOnOrAfter ?? Date.now() + 5 * 60_000,
      });
    }
    const fieldsFor = (xml: string, relayState: string) => ({ SAMLResponse: Buffer.from(xml).toString('base64'), RelayState: relayState });
    const both = { assertion: true, response: true };

    it('accepts a correctly crafted response (the control), and refuses its assertion ID a second time', async () => {
      const agent = new UserAgent();
      const request = await forgedRequest(agent);
      const assertionId = id();
      const xml = sign(craft(request, { assertionId }), forgedKey, both);
      await finishAccepted(agent, await post(agent, sp('forged').acs, fieldsFor(xml, request.relayState)));

      // same assertion ID, answering a new, genuine request: the replay cache refuses it
      const second = new UserAgent();
      const next = await forgedRequest(second);
      await expectRefused(second, sp('forged').acs, fieldsFor(sign(craft(next, { assertionId }), forgedKey, both), next.relayState), 'replayed assertion ID');
    });

    const cases: [string, (request: { id: string }) => string][] = [
      ['unsigned assertion (only the Response signed)', (r) => sign(craft(r), forgedKey, { assertion: false, response: true })],
      ['no signature at all', (r) => craft(r)],
      ['wrong audience', (r) => sign(craft(r, { audience: 'https://another-sp.example.test/metadata' }), forgedKey, both)],
      ['expired assertion', (r) => sign(craft(r, { notOnOrAfter: Date.now() - 5 * 60_000 }), forgedKey, both)],
      ['unsolicited (no InResponseTo)', () => sign(craft(undefined), forgedKey, both)],
      ['InResponseTo of a request never sent', () => sign(craft({ id: id() }), forgedKey, both)],
      ['schema-invalid (an unknown element in the assertion)', (r) =>
        sign(craft(r).replace(/(<saml:Subject>)/, '<saml:Unexpected>x</saml:Unexpected>$1'), forgedKey, both)],
      ['signed by a key the IdP metadata does not hold', (r) => sign(craft(r), { ...forgedKey, keyPem: otherKey.keyPem, certPem: otherKey.certPem }, both)],
    ];
    let otherKey: TestKey;
    before(async () => {
      otherKey = await makeTestKey(work, 'impostor');
    });
    for (const [what, build] of cases) {
      it(`refuses: ${what}`, async () => {
        const agent = new UserAgent();
        const request = await forgedRequest(agent);
        await expectRefused(agent, sp('forged').acs, fieldsFor(build(request), request.relayState), what);
      });
    }

    it('validates with a real XML schema validator (xmllint compiled to wasm)', async () => {
      const validator = createSamlSchemaValidator();
      assert.equal(await validator.validate(realXml), 'SUCCESS_VALIDATE_XML');
      await assert.rejects(validator.validate(realXml.replace(/(<saml:Subject>)/, '<saml:Unexpected/>$1')), /not expected/);
      await assert.rejects(validator.validate(stripSignatures(realXml).replace(/ Version="2.0"/, '')), /Version/);
      await assert.rejects(validator.validate('<not-saml/>'), /schema validation failed/);
    });
  });
});
