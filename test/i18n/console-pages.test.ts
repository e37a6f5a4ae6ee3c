/**
 * Issue 20 on the operators' console: the pages past the console's frame (a person's page, a role, the
 * client form and its secret, APIs, webhooks) in the operator's language (Accept-Language), timestamps in
 * the locale's format inside a machine-readable <time datetime>, the console's own refusals in that
 * language too, and Arabic right to left. Plain HTTP through the real sign-in (no Chromium: the console's
 * Chromium tests in test/console/ run in English).
 */
import assert from 'node:assert/strict';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { UserAgent, type Page } from '../helpers/user-agent.js';
import { submitPassword } from '../mfa/helpers.js';
import { readLocaleFolder } from '../../src/i18n/locales.js';
import { EVENT_TYPES } from '../../src/events/event-catalogue.js';

const PASSWORD = 'correct horse battery staple';

const htmlLang = (page: Page) => /<html lang="([^"]*)" dir="([^"]*)"/.exec(page.html)?.slice(1, 3);
const heading = (page: Page) => /<h1 id="page-title">([^<]*)<\/h1>/.exec(page.html)?.[1];
const csrfOf = (page: Page) => /name="_csrf" value="([^"]*)"/.exec(page.html)?.[1] ?? '';
/** every `<time datetime>` of a page: [ISO, shown] */
const timesOn = (page: Page) => [...page.html.matchAll(/<time datetime="([^"]+)">([^<]*)<\/time>/g)].map((m) => [m[1]!, m[2]!] as const);
const noKeys = (page: Page) => assert.equal(/console\.[a-z]+\.[a-zA-Z]+/.exec(page.html)?.[0], undefined, 'no message key shows through');

describe('the console in the operator\'s language (issue 20)', () => {
  let gh: TestGatehouse;
  let n = 0;
  const ids: Record<string, string> = {};

  before(async () => {
    gh = await bootGatehouse({ CONSOLE_ENABLED: 'true', CONSOLE_REQUIRE_MFA: 'false', OUTBOUND_PRIVATE_HOSTS: '127.0.0.1' });
    ids.target = (await gh.context.accounts.create({ email: 'ziel@sprache.example.test', password: PASSWORD, name: 'Zora Ziel', emailVerified: true })).id;
  });
  after(() => gh?.close());

  async function operator(acceptLanguage: string) {
    n += 1;
    const email = `operator${n}@sprache.example.test`;
    await gh.context.accounts.create({ email, password: PASSWORD, name: `Operator ${n}`, emailVerified: true });
    await gh.context.accounts.setRoles(email, ['gatehouse:admin']);
    const agent = new UserAgent({ 'accept-language': acceptLanguage });
    const dashboard = await submitPassword(agent, await agent.open(`${gh.issuer}/console`), { email, password: PASSWORD });
    assert.equal(dashboard.status, 200, dashboard.html.slice(0, 500));
    return { agent, dashboard };
  }

  it('a person\'s page in German, with German dates in <time datetime>', async () => {
    const { agent } = await operator('de-DE,de;q=0.9,en;q=0.5');
    const page = await agent.open(`${gh.issuer}/console/users/${ids.target!}`);
    assert.equal(page.status, 200);
    assert.deepEqual(htmlLang(page), ['de', 'ltr']);
    assert.equal(heading(page), 'ziel@sprache.example.test');
    for (const text of ['Zweite Faktoren', 'Verknüpfte Anbieter', 'Aktionen', 'Überall abmelden', 'Rolle zuweisen', 'Keine aktiven Sitzungen.', 'Neueste Audit-Ereignisse', '>aktiv<', 'Authenticator-App: keine']) {
      assert.ok(page.html.includes(text), text);
    }
    const created = (await gh.context.accounts.findById(ids.target!))!.createdAt;
    const shown = timesOn(page).find(([iso]) => iso === new Date(created).toISOString());
    assert.ok(shown, 'the creation time, machine-readable');
    assert.equal(shown[1], new Intl.DateTimeFormat('de', { dateStyle: 'long', timeStyle: 'long', timeZone: 'UTC' }).format(created));
    assert.match(shown[1], /^\d{1,2}\. [A-Za-zä]+ \d{4} um \d{2}:\d{2}:\d{2} UTC$/);
    assert.doesNotMatch(page.html, />\d{4}-\d\d-\d\dT[\d:.]+Z</, 'no raw ISO timestamp is shown');
    noKeys(page);
  });

  it('roles in German: the list, a role\'s page with its date, a refused line by its field, and a refused confirmation', async () => {
    await gh.context.roles.create({ name: 'helpdesk', description: 'Hilft', permissions: [{ resource: 'urn:gatehouse:admin', scope: 'admin:audit:read' }] });
    const { agent } = await operator('de');
    const list = await agent.open(`${gh.issuer}/console/roles`);
    for (const text of ['Rolle anlegen', 'Vergeben an (die ersten 10)', '>integriert<']) assert.ok(list.html.includes(text), text);
    noKeys(list);
    const role = await agent.open(`${gh.issuer}/console/roles/helpdesk`);
    for (const text of ['Alle Rollen', 'Rolle speichern', 'Rolle vergeben an (E-Mail-Adresse)', '<code>admin:audit:read</code> bei <code>urn:gatehouse:admin</code>', 'Vergeben an (0)']) assert.ok(role.html.includes(text), text);
    const updatedAt = (await gh.context.roles.find('helpdesk'))!.updatedAt;
    assert.ok(timesOn(role).some(([iso, shown]) => iso === new Date(updatedAt).toISOString() && shown.includes(' UTC')));
    noKeys(role);
    const refused = await agent.post(`${gh.issuer}/console/roles/helpdesk`, { _csrf: csrfOf(role), description: 'x', permissions: 'kein-gleichheitszeichen', updated_at: String(updatedAt) });
    assert.equal(refused.status, 400);
    assert.ok(refused.html.includes('„kein-gleichheitszeichen“ hat nicht die Form API=Scope.'), refused.html.slice(0, 2000));
    assert.ok(refused.html.includes('Nichts wurde geändert'));
    const wrongName = await agent.fetch(`${gh.issuer}/console/roles/helpdesk/delete`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' }, body: new URLSearchParams({ _csrf: csrfOf(list), confirm: 'help' }),
    });
    assert.equal(wrongName.status, 400);
    assert.match(await wrongName.text(), /Geben Sie zur Bestätigung genau helpdesk ein\. Nichts wurde geändert\./);
    assert.ok(await gh.context.roles.find('helpdesk'), 'nothing was deleted');
    // the same refusal for a script (no text/html) stays the English of the API
    const json = await agent.fetch(`${gh.issuer}/console/roles/helpdesk/delete`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ _csrf: csrfOf(list), confirm: 'help' }),
    });
    assert.equal(((await json.json()) as { error_description: string }).error_description, 'To confirm, type helpdesk exactly. Nothing was changed.');
  });

  it('the client form in German; a refused client by its field; the secret page with the overlap\'s end as a German date', async () => {
    const { agent } = await operator('de');
    const form = await agent.open(`${gh.issuer}/console/clients/new`);
    assert.equal(heading(form), 'Client registrieren');
    for (const text of ['Ein neuer Client', 'Weiterleitungs-URIs', '(eine pro Zeile)', 'Authentifizierung am Token-Endpunkt', '>Registrieren<']) assert.ok(form.html.includes(text), text);
    noKeys(form);
    const refused = await agent.post(`${gh.issuer}/console/clients`, { _csrf: csrfOf(form), client_name: 'Kaputt', redirect_uris: 'not a url', 'grant:authorization_code': 'yes', token_endpoint_auth_method: 'client_secret_basic' });
    assert.equal(refused.status, 400);
    assert.ok(refused.html.includes('Der Client wurde nicht registriert'), refused.html.slice(0, 1500));
    assert.match(refused.html, /id="err-redirect_uris"/);
    const created = await agent.post(`${gh.issuer}/console/clients`, { _csrf: csrfOf(form), client_id: 'sprach-app', client_name: 'Sprach-App', redirect_uris: 'https://app.example.test/cb', 'grant:authorization_code': 'yes', token_endpoint_auth_method: 'client_secret_basic' });
    assert.equal(created.status, 200);
    assert.ok(created.html.includes('Kopieren Sie das Client-Secret jetzt'), created.html.slice(0, 1500));
    noKeys(created);
    const edit = await agent.open(`${gh.issuer}/console/clients/sprach-app`);
    for (const text of ['Client-Metadaten (RFC 7591)', 'Gefahrenbereich', '<option value="3600">1 Stunde</option>', '<option value="86400">24 Stunden</option>', '<option value="604800">7 Tage</option>']) assert.ok(edit.html.includes(text), text);
    noKeys(edit);
    const rotated = await agent.post(`${gh.issuer}/console/clients/sprach-app/rotate-secret`, { _csrf: csrfOf(edit), confirm: 'sprach-app', overlap: '3600' });
    assert.equal(rotated.status, 200);
    assert.ok(rotated.html.includes('Kopieren Sie das neue Client-Secret jetzt'));
    const [iso, shown] = timesOn(rotated)[0] ?? [];
    assert.ok(iso && shown, 'the end of the overlap, machine-readable');
    assert.equal(shown, new Intl.DateTimeFormat('de', { dateStyle: 'long', timeStyle: 'long', timeZone: 'UTC' }).format(Date.parse(iso)));
    assert.match(rotated.html, /Das bisherige Secret bleibt bis <time datetime="[^"]+">[^<]+<\/time> gültig/);
    const badOverlap = await agent.fetch(`${gh.issuer}/console/clients/sprach-app/rotate-secret`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' }, body: new URLSearchParams({ _csrf: csrfOf(edit), confirm: 'sprach-app', overlap: '99' }),
    });
    assert.equal(badOverlap.status, 400);
    assert.match(await badOverlap.text(), /Wählen Sie aus der Liste, wie lange das alte Secret gültig bleibt\./);
  });

  it('APIs and webhooks in German: lists, an endpoint with its dates, the secret page, a refused change of Gatehouse\'s own API', async () => {
    const { agent } = await operator('de');
    const apis = await agent.open(`${gh.issuer}/console/apis`);
    for (const text of ['Ressourcen-Indikator <code>urn:gatehouse:admin</code>', 'API registrieren', 'Kennung (eine absolute URI']) assert.ok(apis.html.includes(text), text);
    noKeys(apis);
    const fixed = await agent.fetch(`${gh.issuer}/console/apis/scopes`, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' }, body: new URLSearchParams({ _csrf: csrfOf(apis), identifier: 'urn:gatehouse:admin', scope: 'x' }),
    });
    assert.equal(fixed.status, 400);
    assert.match(await fixed.text(), /urn:gatehouse:admin ist die eigene API von Gatehouse/);

    const list = await agent.open(`${gh.issuer}/console/webhooks`);
    for (const text of ['Endpunkt hinzufügen', 'Keine Webhook-Endpunkte.', '(keiner angekreuzt: alle Typen)', 'Ein Testereignis, auf Anfrage an einen Endpunkt gesendet']) assert.ok(list.html.includes(text), text);
    noKeys(list);
    const added = await agent.post(`${gh.issuer}/console/webhooks`, { _csrf: csrfOf(list), url: 'http://127.0.0.1:9/sprache', description: 'Sprachtest' });
    assert.equal(added.status, 200, added.html.slice(0, 1500));
    assert.ok(added.html.includes('Kopieren Sie das Signatur-Secret jetzt'));
    assert.ok(added.html.includes('>zum Endpunkt</a>'));
    noKeys(added);
    const id = /href="\/console\/webhooks\/([^"]+)" data-testid="webhook-link"/.exec(added.html)?.[1];
    assert.ok(id);
    const endpoint = await agent.open(`${gh.issuer}/console/webhooks/${id}`);
    for (const text of ['Endpunkt-ID', '>aktiviert<', 'Testereignis senden', 'Das alte Secret signiert weiter für', 'Letzte Zustellungen', '<option value="604800">7 Tage</option>']) assert.ok(endpoint.html.includes(text), text);
    assert.equal(timesOn(endpoint).length, 1, 'the time it was added');
    assert.equal(endpoint.html.match(/name="overlap"/g)?.length, 1, 'the overlap choice is on the rotation form only, not on the delete form');
    noKeys(endpoint);
    const rotated = await agent.post(`${gh.issuer}/console/webhooks/${id}/rotate-secret`, { _csrf: csrfOf(endpoint), overlap: '86400' });
    assert.match(rotated.html, /Das bisherige Secret signiert jede Zustellung zusätzlich bis <time datetime="[^"]+">[^<]+ UTC<\/time>/);
    const listed = await agent.open(`${gh.issuer}/console/webhooks`);
    assert.ok(listed.html.includes('alle Typen'));
    assert.equal(timesOn(listed).length, 1);
  });

  it('the dashboard, the users list, the audit log and the signing keys show their times as French dates, never raw ISO', async () => {
    const { agent } = await operator('fr');
    for (const path of ['/console', '/console/users', '/console/audit', '/console/keys']) {
      const page = await agent.open(`${gh.issuer}${path}`);
      assert.equal(page.status, 200, path);
      assert.ok(timesOn(page).length > 0, `${path}: a <time datetime>`);
      for (const [iso, shown] of timesOn(page)) assert.equal(shown, new Intl.DateTimeFormat('fr', { dateStyle: 'long', timeStyle: 'long', timeZone: 'UTC' }).format(Date.parse(iso)), path);
      assert.doesNotMatch(page.html, />[^<]*\d{4}-\d\d-\d\dT[\d:.]+Z/, `${path}: no raw ISO timestamp is shown`);
      noKeys(page);
    }
  });

  it('every webhook event type has its description in console.json, in English the catalogue\'s own words', () => {
    const english = readLocaleFolder(new URL('../../views/locales/en', import.meta.url).pathname);
    for (const [type, spec] of Object.entries(EVENT_TYPES)) assert.equal(english[`console.webhooks.event.${type}`], spec.description, type);
  });

  it('a console sign-in that does not complete says so in the browser\'s language', async () => {
    const agent = new UserAgent({ 'accept-language': 'es', accept: 'text/html' });
    const toLogin = await agent.open(`${gh.issuer}/console`, (next) => !next.startsWith(`${gh.issuer}/console`));
    const state = new URL(toLogin.url).searchParams.get('state');
    assert.ok(state, 'the console sent the browser to the authorization endpoint');
    const failed = await agent.open(`${gh.issuer}/console/callback?code=forged&state=${encodeURIComponent(state)}&iss=${encodeURIComponent(gh.issuer)}`);
    assert.equal(failed.status, 400);
    assert.deepEqual(htmlLang(failed), ['es', 'ltr']);
    assert.ok(failed.html.includes('No se completó el inicio de sesión en la consola.'), failed.html.slice(0, 1500));
  });

  it('markup in an operator\'s values stays text inside the messages that carry their own markup (th)', async () => {
    const { agent } = await operator('de');
    const apis = await agent.open(`${gh.issuer}/console/apis`);
    const identifier = 'urn:x:<img src=x onerror=alert(1)>';
    const created = await agent.post(`${gh.issuer}/console/apis`, { _csrf: csrfOf(apis), identifier, name: '', scopes: 'read = <b>Lesen</b>' });
    assert.equal(created.status, 200, created.html.slice(0, 1000));
    assert.ok(created.html.includes('Ressourcen-Indikator <code>urn:x:&lt;img src=x onerror=alert(1)&gt;</code>'));
    assert.doesNotMatch(created.html, /<img src=x/);
    assert.doesNotMatch(created.html, /<b>Lesen/);
  });

  it('an Arabic page is right to left', async () => {
    const { agent } = await operator('ar');
    const page = await agent.open(`${gh.issuer}/console/users/${ids.target!}`);
    assert.deepEqual(htmlLang(page), ['ar', 'rtl']);
    assert.ok(page.html.includes('العوامل الثانية'));
    noKeys(page);
  });
});
