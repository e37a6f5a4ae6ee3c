/**
 * The LDAP path shares the email-conflict rule (issue 18 item 5), against a real slapd: a linked person's
 * directory `mail` changes to an address a local account holds. "keep" signs them in with the old email;
 * the person is told on a page before continuing to the app (the same notice page as the SAML path);
 * "refuse" refuses with a message on the login page. Both are audited as federation.email_conflict.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as oidc from 'openid-client';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { UserAgent, formAction, type Page } from '../helpers/user-agent.js';
import { DIRECTORY_FIXTURE, startSlapd, type SlapdService } from '../helpers/services/slapd.js';
import { runCommand } from '../helpers/services/process-handle.js';

const REDIRECT_URI = 'http://127.0.0.1:9/callback';

describe('LDAP: a directory email another account holds (emailConflict, real slapd)', function () {
  this.timeout(60_000);
  let slapd: SlapdService;
  let gh: TestGatehouse;
  let rp: oidc.Configuration;
  let work: string;

  const ldap = async (args: string[], ldif: string) => {
    const f = join(work, `change-${Math.random().toString(36).slice(2)}.ldif`);
    await writeFile(f, ldif);
    await runCommand(args[0]!, [...args.slice(1), '-x', '-H', slapd.url, '-D', slapd.bindDn, '-w', slapd.bindPassword, '-f', f]);
  };
  const setMail = (uid: string, mail: string) => ldap(['ldapmodify'], `dn: uid=${uid},ou=people,dc=example,dc=org\nchangetype: modify\nreplace: mail\nmail: ${mail}\n`);

  before(async () => {
    slapd = await startSlapd({ ldif: await readFile(DIRECTORY_FIXTURE, 'utf8') });
    work = await mkdtemp(join(tmpdir(), 'gatehouse-ldap-conflict-'));
    const person = (uid: string, mail: string) =>
      `dn: uid=${uid},ou=people,dc=example,dc=org\nobjectClass: inetOrgPerson\nuid: ${uid}\ncn: ${uid}\nsn: ${uid}\nmail: ${mail}\nuserPassword: ${uid}-ldap-password\n`;
    await ldap(['ldapadd'], [person('gina', 'gina@keep.test'), person('hank', 'hank@refuse.test')].join('\n'));
    const directory = (id: string, domain: string, extra: Record<string, unknown>) => ({
      id, name: `${id} directory`, urls: [slapd.url], bindDn: slapd.bindDn, bindPassword: slapd.bindPassword,
      userBase: 'ou=people,dc=example,dc=org', userFilter: '(&(objectClass=inetOrgPerson)(uid={{localPart}}))',
      claims: { email: 'mail' }, emailVerified: true, domains: [domain], ...extra,
    });
    const file = join(work, 'federation.json');
    await writeFile(file, JSON.stringify({ ldap: [directory('keeper', 'keep.test', {}), directory('refuser', 'refuse.test', { emailConflict: 'refuse' })] }));
    gh = await bootGatehouse({ FEDERATION_FILE: file });
    const client = await gh.context.clients.create({
      client_name: 'RP', redirect_uris: [REDIRECT_URI], grant_types: ['authorization_code'], token_endpoint_auth_method: 'client_secret_basic',
    });
    rp = await oidc.discovery(new URL(gh.issuer), client.client_id, String(client.client_secret), undefined, { execute: [oidc.allowInsecureRequests] });
  });
  after(async () => {
    await gh?.close();
    await slapd?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  async function login(email: string, password: string, agent = new UserAgent()): Promise<Page> {
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(rp, {
      redirect_uri: REDIRECT_URI, scope: 'openid email', prompt: 'login consent',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    }).href;
    const page = await agent.open(url);
    return agent.submit(page, formAction(page.html, /\/login$/), { email, password }, (u) => u.startsWith(REDIRECT_URI));
  }
  const conflicts = () => gh.context.store.audit.query({ types: ['federation.email_conflict'] });

  it('"keep": the person signs in with the old email, and the audit log records it', async () => {
    assert.ok(!(await login('gina@keep.test', 'gina-ldap-password')).html.includes('incorrect'));
    const gina = await gh.context.store.accounts.findByEmail('gina@keep.test');
    assert.ok(gina);
    await gh.context.accounts.create({ email: 'held@keep.test', password: 'the holder of this address', emailVerified: true });
    await setMail('gina', 'held@keep.test');
    const agent = new UserAgent();
    const page = await login('gina@keep.test', 'gina-ldap-password', agent);
    assert.ok(!/could not|cannot be used/.test(page.html), page.html.slice(0, 500));
    // item 5, "the person is told": the notice page, before the app
    assert.equal(page.status, 200, page.html.slice(0, 500));
    assert.match(page.html, /keeper directory gave your account the email address held@keep\.test, which another account here already uses\. Your account keeps its email address gina@keep\.test\./);
    const continueTo = /<a class="button primary" href="([^"]+)">Continue<\/a>/.exec(page.html)?.[1]?.replace(/&amp;/g, '&');
    assert.ok(continueTo, 'a Continue link');
    const atRp = (u: string) => u.startsWith(REDIRECT_URI);
    let done = await agent.open(new URL(continueTo, gh.issuer).href, atRp);
    if (!atRp(done.url)) done = await agent.submit(done, formAction(done.html, /\/consent$/), {}, atRp);
    assert.ok(new URL(done.url).searchParams.get('code'), `${done.status} ${done.url}`);
    assert.equal((await gh.context.store.accounts.findById(gina.id))?.email, 'gina@keep.test');
    const events = await conflicts();
    assert.equal(events.length, 1);
    assert.deepEqual([events[0]!.accountId, events[0]!.result, events[0]!.reason, events[0]!.details], [gina.id, 'success', 'email_kept', { provider: 'keeper', rule: 'keep' }]);
  });

  it('"refuse": the login is refused with a message saying why, and the audit log records it', async () => {
    assert.ok(!(await login('hank@refuse.test', 'hank-ldap-password')).html.includes('incorrect'));
    const hank = await gh.context.store.accounts.findByEmail('hank@refuse.test');
    assert.ok(hank);
    await gh.context.accounts.create({ email: 'held@refuse.test', password: 'the holder of that address', emailVerified: true });
    await setMail('hank', 'held@refuse.test');
    const page = await login('hank@refuse.test', 'hank-ldap-password');
    assert.match(page.html, /refuser directory now gives your account an email address that another account here already uses/);
    assert.equal((await gh.context.store.accounts.findById(hank.id))?.email, 'hank@refuse.test');
    const events = await conflicts();
    assert.equal(events.length, 2);
    assert.deepEqual([events[1]!.accountId, events[1]!.result, events[1]!.reason, events[1]!.details], [hank.id, 'failure', 'sign_in_refused', { provider: 'refuser', rule: 'refuse' }]);
  });
});
