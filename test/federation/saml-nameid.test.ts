/**
 * NameID policies against real SimpleSAMLphp IdPs (issue 18 item 1): the AuthnRequest asks for the
 * configured format with AllowCreate="true" (or "false" where configured); a persistent NameID keys the
 * account; a transient one, new at every sign-in, cannot, so the account is keyed by the configured
 * `idAttribute` and start-up refuses a transient IdP without one. A refused assertion shows the person
 * its reason category; the log and the audit event have the detail.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as oidc from 'openid-client';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { UserAgent, formAction, hiddenFields, type Page } from '../helpers/user-agent.js';
import { NAMEID_PERSISTENT, NAMEID_TRANSIENT, startSamlIdp, type SamlIdp } from '../helpers/services/saml-idp.js';
import { authnRequestFrom } from './helpers/saml-crafting.js';
import { loadConfig } from '../../src/config/load-config.js';

const REDIRECT_URI = 'https://rp.example.test/callback';
const TEMP = { username: 'tess', password: 'tess-idp-password', attributes: { email: ['tess@temps.example.org'], employeeNumber: ['E-1001'] } };
const NO_ID = { username: 'nora', password: 'nora-idp-password', attributes: { email: ['nora@temps.example.org'] } };
const PERM = { username: 'pat', password: 'pat-idp-password', attributes: { email: ['pat@partner.example.org'] } };

describe('SAML NameID policies (SimpleSAMLphp IdPs)', function () {
  this.timeout(120_000);
  let gh: TestGatehouse;
  let temps: SamlIdp;
  let partner: SamlIdp;
  let rp: oidc.Configuration;
  let work: string;
  const sp = (id: string) => ({ entityId: `${gh.issuer}/federation/saml/${id}/metadata`, acs: `${gh.issuer}/federation/saml/${id}/acs` });

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'gatehouse-saml-nameid-'));
    gh = await bootGatehouse();
    temps = await startSamlIdp({ spEntityId: sp('temps').entityId, acsUrl: sp('temps').acs, nameIdFormat: 'transient', users: [TEMP, NO_ID] });
    partner = await startSamlIdp({ spEntityId: sp('partner').entityId, acsUrl: sp('partner').acs, users: [PERM] });
    await writeFile(join(work, 'temps.xml'), temps.metadataXml);
    await writeFile(join(work, 'partner.xml'), partner.metadataXml);
    const file = join(work, 'federation.json');
    await writeFile(file, JSON.stringify({
      saml: {
        idps: [
          { id: 'temps', name: 'Temps SSO', metadataFile: join(work, 'temps.xml'), nameIdFormat: 'transient', idAttribute: 'employeeNumber', claims: { email: 'email' }, domains: ['temps.example.org'] },
          { id: 'partner', name: 'Partner SSO', metadataFile: join(work, 'partner.xml'), claims: { email: 'email' }, domains: ['partner.example.org'] },
          { id: 'closed', name: 'Closed SSO', metadataFile: join(work, 'partner.xml'), allowCreate: false, claims: { email: 'email' } },
        ],
      },
    }));
    await gh.restart({ FEDERATION_FILE: file });
    const client = await gh.context.clients.create({
      client_name: 'NameID RP', redirect_uris: [REDIRECT_URI], grant_types: ['authorization_code'], token_endpoint_auth_method: 'client_secret_basic',
    });
    rp = await oidc.discovery(new URL(gh.issuer), client.client_id, String(client.client_secret), undefined, { execute: [oidc.allowInsecureRequests] });
  });
  after(async () => {
    await gh?.close();
    await temps?.stop();
    await partner?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  async function authorizationUrl() {
    const verifier = oidc.randomPKCECodeVerifier();
    return oidc.buildAuthorizationUrl(rp, {
      redirect_uri: REDIRECT_URI, scope: 'openid email', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    }).href;
  }

  /** "Continue with <idp>" up to the IdP: the AuthnRequest Gatehouse sent, and the URL carrying it. */
  async function startAt(agent: UserAgent, idpId: string, idp: SamlIdp) {
    const login = await agent.open(await authorizationUrl());
    const out = await agent.submit(login, formAction(login.html, new RegExp(`/federated/${idpId}$`)), {}, (u) => u.startsWith(idp.ssoRedirectUrl));
    return { url: out.url, request: authnRequestFrom(out.url) };
  }

  /** The whole sign-in with an HTTP agent: returns the IdP's auto-posted response and the ACS's answer. */
  async function signInAt(agent: UserAgent, idpId: string, idp: SamlIdp, user: { username: string; password: string }) {
    const { url } = await startAt(agent, idpId, idp);
    let page = await agent.open(url);
    const authState = /name="AuthState"\s+value="([^"]*)"/.exec(page.html)?.[1]?.replace(/&amp;/g, '&');
    assert.ok(authState, `no IdP login form: ${page.status} ${page.html.slice(0, 500)}`);
    const action = /<form[^>]*action="([^"]*)"/.exec(page.html.slice(page.html.indexOf('AuthState') - 2000))?.[1] ?? '';
    page = await agent.submit(page, action.replace(/&amp;/g, '&'), { AuthState: authState, username: user.username, password: user.password });
    const acs = (/<form[^>]*action="([^"]+)"/.exec(page.html)?.[1] ?? '').replace(/&amp;/g, '&');
    const fields = hiddenFields(page.html, acs);
    assert.ok(fields.SAMLResponse, `no SAMLResponse in ${page.html.slice(0, 1000)}`);
    const res = await agent.fetch(acs, { method: 'POST', body: new URLSearchParams(fields), headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' } });
    return { xml: Buffer.from(fields.SAMLResponse, 'base64').toString('utf8'), res };
  }

  /** Follows an accepted response through consent; the `sub` of the ID token. */
  async function finish(agent: UserAgent, res: Response): Promise<string> {
    assert.equal(res.status, 303, await res.clone().text());
    const atClient = (u: string) => u.startsWith(REDIRECT_URI);
    let page: Page = await agent.open(new URL(res.headers.get('location')!, gh.issuer).href, atClient);
    if (!atClient(page.url)) page = await agent.submit(page, formAction(page.html, /\/consent$/), {}, atClient);
    assert.ok(atClient(page.url), `${page.status} ${page.url} ${page.html.slice(0, 500)}`);
    return new URL(page.url).searchParams.get('code') ?? '';
  }

  const nameIdOf = (xml: string) => /<saml:NameID\b[^>]*>([^<]+)</.exec(xml)?.[1];
  const formatOf = (xml: string) => /<saml:NameID\b[^>]*Format="([^"]+)"/.exec(xml)?.[1];

  it('asks for a persistent NameID with AllowCreate="true" by default, and links the account by it', async () => {
    const agent = new UserAgent();
    const { request } = await startAt(agent, 'partner', partner);
    assert.match(request.xml, new RegExp(`<samlp:NameIDPolicy [^>]*Format="${NAMEID_PERSISTENT}"`));
    assert.match(request.xml, /<samlp:NameIDPolicy [^>]*AllowCreate="true"/);

    const signingIn = new UserAgent();
    const { xml, res } = await signInAt(signingIn, 'partner', partner, PERM);
    assert.equal(formatOf(xml), NAMEID_PERSISTENT);
    await finish(signingIn, res);
    const account = await gh.context.store.accounts.findByEmail('pat@partner.example.org');
    assert.ok(account, 'account created');
    const links = await gh.context.store.federation.linksOf(account.id);
    assert.deepEqual(links.map((l) => [l.providerId, l.externalId]), [['partner', nameIdOf(xml)]]);
  });

  it('sends AllowCreate="false" where the IdP entry says allowCreate: false', async () => {
    const { request } = await startAt(new UserAgent(), 'closed', partner);
    assert.match(request.xml, /<samlp:NameIDPolicy [^>]*AllowCreate="false"/);
  });

  it('asks for a transient NameID, and keys the account by idAttribute: two sign-ins with two NameIDs reach one account', async () => {
    const first = new UserAgent();
    const { request } = await startAt(first, 'temps', temps);
    assert.match(request.xml, new RegExp(`<samlp:NameIDPolicy [^>]*Format="${NAMEID_TRANSIENT}"`));
    assert.match(request.xml, /<samlp:NameIDPolicy [^>]*AllowCreate="true"/);

    const a = await signInAt(first, 'temps', temps, TEMP);
    assert.equal(formatOf(a.xml), NAMEID_TRANSIENT);
    await finish(first, a.res);
    const second = new UserAgent();
    const b = await signInAt(second, 'temps', temps, TEMP);
    assert.notEqual(nameIdOf(a.xml), nameIdOf(b.xml), 'the IdP sent a new transient NameID');
    await finish(second, b.res);

    const account = await gh.context.store.accounts.findByEmail('tess@temps.example.org');
    assert.ok(account);
    const links = await gh.context.store.federation.linksOf(account.id);
    assert.deepEqual(links.map((l) => [l.providerId, l.externalId]), [['temps', 'E-1001']], 'one link, by employeeNumber');
  });

  it('refuses a transient NameID without the key attribute, and tells the person it is about the user identifier', async () => {
    const accounts = await gh.context.store.accounts.count();
    const { res } = await signInAt(new UserAgent(), 'temps', temps, NO_ID);
    const html = await res.text();
    assert.equal(res.status, 400, html.slice(0, 500));
    assert.match(html, /The sign-in answer from Temps SSO could not be accepted: the identity provider sent no usable user identifier/);
    assert.ok(!html.includes('employeeNumber'), 'the detail stays in the log');
    assert.equal(await gh.context.store.accounts.count(), accounts, 'no account created');
    const events = await gh.context.store.audit.query({ types: ['federation.saml.refused'] });
    const last = events.at(-1);
    assert.ok(events.some((e) => /employeeNumber \(idAttribute\) has 0 values/.test(String(e.reason)) && (e.details as { category?: string }).category === 'identifier'), JSON.stringify(last));
  });

  it('refuses at start-up a transient IdP without idAttribute, naming the key and why', async () => {
    const file = join(work, 'transient-without-key.json');
    await writeFile(file, JSON.stringify({ saml: { idps: [{ id: 'temps', name: 'Temps', metadataFile: join(work, 'temps.xml'), nameIdFormat: 'transient', claims: { email: 'email' } }] } }));
    assert.throws(() => loadConfig({ NODE_ENV: 'test', FEDERATION_FILE: file }),
      /saml\.idps\[0\]\.idAttribute: got nothing; expected the attribute that identifies the person \(such as uid or employeeNumber\), because nameIdFormat "transient" changes at every sign-in/);
    await assert.rejects(bootGatehouse({ FEDERATION_FILE: file }), /idAttribute/);
  });
});
