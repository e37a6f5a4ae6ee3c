/**
 * Email conflicts are visible (issue 18 item 5), against a real SimpleSAMLphp IdP: a linked person's
 * upstream email changes to an address another account here holds. With emailConflict "keep" (the default)
 * they sign in with their old email and a page tells them so; with "refuse" the sign-in is refused with a
 * page saying why. Both are audited as federation.email_conflict, and the other account is never touched.
 *
 * The IdP keys people by employeeNumber (idAttribute), so two IdP users with the same employeeNumber and
 * different emails are one person whose email changed at the IdP between two sign-ins.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as oidc from 'openid-client';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { UserAgent, formAction, hiddenFields, type Page } from '../helpers/user-agent.js';
import { startSamlIdp, type SamlIdp } from '../helpers/services/saml-idp.js';

const REDIRECT_URI = 'https://rp.example.test/callback';
const BEFORE = { username: 'erin', password: 'erin-idp-password', attributes: { email: ['erin@corp.example.org'], employeeNumber: ['E-7'] } };
// the same person (employeeNumber E-7) after the IdP changed her email to one a local account holds
const AFTER = { username: 'erin2', password: 'erin2-idp-password', attributes: { email: ['held@corp.example.org'], employeeNumber: ['E-7'] } };
const HOLDER = { email: 'held@corp.example.org', password: 'the holder keeps her own account' };

describe('SAML: an upstream email another account holds (emailConflict)', function () {
  this.timeout(120_000);
  let gh: TestGatehouse;
  let idp: SamlIdp;
  let rp: oidc.Configuration;
  let work: string;
  let file: string;
  const sp = () => ({ entityId: `${gh.issuer}/federation/saml/corp/metadata`, acs: `${gh.issuer}/federation/saml/corp/acs` });

  async function configure(rule?: 'keep' | 'refuse') {
    await writeFile(file, JSON.stringify({
      saml: {
        idps: [{
          id: 'corp', name: 'Corp SSO', metadataFile: join(work, 'corp.xml'), idAttribute: 'employeeNumber', claims: { email: 'email' },
          emailVerified: true, domains: ['corp.example.org'], ...(rule ? { emailConflict: rule } : {}),
        }],
      },
    }));
    await gh.restart({ FEDERATION_FILE: file });
  }

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'gatehouse-email-conflict-'));
    file = join(work, 'federation.json');
    gh = await bootGatehouse();
    idp = await startSamlIdp({ spEntityId: sp().entityId, acsUrl: sp().acs, users: [BEFORE, AFTER] });
    await writeFile(join(work, 'corp.xml'), idp.metadataXml);
    await configure();
    await gh.context.accounts.create({ ...HOLDER, emailVerified: true });
    const client = await gh.context.clients.create({
      client_name: 'Conflict RP', redirect_uris: [REDIRECT_URI], grant_types: ['authorization_code'], token_endpoint_auth_method: 'client_secret_basic',
    });
    rp = await oidc.discovery(new URL(gh.issuer), client.client_id, String(client.client_secret), undefined, { execute: [oidc.allowInsecureRequests] });
  });
  after(async () => {
    await gh?.close();
    await idp?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  /** A whole SP-initiated sign-in with an HTTP agent, up to Gatehouse's answer to the IdP's response. */
  async function signInAs(agent: UserAgent, user: { username: string; password: string }): Promise<Page> {
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(rp, {
      redirect_uri: REDIRECT_URI, scope: 'openid email', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    }).href;
    const login = await agent.open(url);
    let page = await agent.submit(login, formAction(login.html, /\/federated\/corp$/), {});
    const authState = /name="AuthState"\s+value="([^"]*)"/.exec(page.html)?.[1]?.replace(/&amp;/g, '&');
    assert.ok(authState, `no IdP login form: ${page.status} ${page.html.slice(0, 500)}`);
    const action = /<form[^>]*action="([^"]*)"/.exec(page.html.slice(page.html.indexOf('AuthState') - 2000))?.[1] ?? '';
    page = await agent.submit(page, action.replace(/&amp;/g, '&'), { AuthState: authState, username: user.username, password: user.password });
    const acs = (/<form[^>]*action="([^"]+)"/.exec(page.html)?.[1] ?? '').replace(/&amp;/g, '&');
    assert.equal(acs, sp().acs, page.html.slice(0, 1000));
    const atClient = (u: string) => u.startsWith(REDIRECT_URI);
    return agent.submit(page, acs, hiddenFields(page.html, acs), atClient);
  }

  const atClient = (u: string) => u.startsWith(REDIRECT_URI);
  async function toClient(agent: UserAgent, page: Page): Promise<Page> {
    if (!atClient(page.url) && page.html.includes('/consent')) return agent.submit(page, formAction(page.html, /\/consent$/), {}, atClient);
    return page;
  }
  const conflicts = async () => gh.context.store.audit.query({ types: ['federation.email_conflict'] });

  let erinId = '';
  it('links the person on her first sign-in (the control)', async () => {
    const agent = new UserAgent();
    const page = await toClient(agent, await signInAs(agent, BEFORE));
    assert.ok(atClient(page.url), `${page.status} ${page.url} ${page.html.slice(0, 500)}`);
    const erin = await gh.context.store.accounts.findByEmail(BEFORE.attributes.email[0]!);
    assert.ok(erin);
    erinId = erin.id;
  });

  it('"keep" (the default): she signs in with her old email, a page tells her so, and the audit log records it', async () => {
    const agent = new UserAgent();
    const page = await signInAs(agent, AFTER);
    assert.equal(page.status, 200, page.html.slice(0, 500));
    assert.match(page.html, /Corp SSO gave your account the email address held@corp\.example\.org, which another account here already uses\. Your account keeps its email address erin@corp\.example\.org\./);
    // the notice's Continue link resumes the authorization: the sign-in is done
    const continueTo = /<a class="button primary" href="([^"]+)">Continue<\/a>/.exec(page.html)?.[1]?.replace(/&amp;/g, '&');
    assert.ok(continueTo);
    const done = await toClient(agent, await agent.open(new URL(continueTo, gh.issuer).href, atClient));
    assert.ok(atClient(done.url), `${done.status} ${done.url}`);
    assert.ok(new URL(done.url).searchParams.get('code'));

    assert.equal((await gh.context.store.accounts.findById(erinId))?.email, 'erin@corp.example.org', 'kept the old email');
    const holder = await gh.context.store.accounts.findByEmail(HOLDER.email);
    assert.ok(holder && holder.id !== erinId && holder.passwordHash !== null, 'the other account is untouched');
    assert.deepEqual((await gh.context.store.federation.linksOf(holder.id)), [], 'and not linked');
    const events = await conflicts();
    assert.equal(events.length, 1);
    assert.equal(events[0]!.accountId, erinId);
    assert.equal(events[0]!.result, 'success');
    assert.equal(events[0]!.reason, 'email_kept');
    assert.deepEqual(events[0]!.details, { provider: 'corp', rule: 'keep' });
    assert.ok(!JSON.stringify(events[0]).includes('held@'), 'the addresses stay out of the audit log');
  });

  it('"refuse": the sign-in is refused with a page saying why, nothing changes, and the audit log records it', async () => {
    await configure('refuse');
    const agent = new UserAgent();
    const page = await signInAs(agent, AFTER);
    assert.equal(page.status, 400, page.html.slice(0, 500));
    assert.match(page.html, /Corp SSO now gives your account an email address that another account here already uses, so this sign-in cannot be used\./);
    assert.ok(![...agent.cookies.keys()].some((c) => c.startsWith('_session')), 'no session');
    assert.equal((await gh.context.store.accounts.findById(erinId))?.email, 'erin@corp.example.org');
    const events = await conflicts();
    assert.equal(events.length, 2);
    assert.equal(events[1]!.result, 'failure');
    assert.equal(events[1]!.reason, 'sign_in_refused');
    assert.deepEqual(events[1]!.details, { provider: 'corp', rule: 'refuse' });

    // the person's unchanged email still signs in under "refuse"
    const again = new UserAgent();
    assert.ok(atClient((await toClient(again, await signInAs(again, BEFORE))).url));
  });
});
