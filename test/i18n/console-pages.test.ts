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
    gh = await bootGatehouse({ CONSOLE_ENABLED: 'true', CONSOLE_REQUIRE_MFA: 'false' });
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

  it('an Arabic page is right to left', async () => {
    const { agent } = await operator('ar');
    const page = await agent.open(`${gh.issuer}/console/users/${ids.target!}`);
    assert.deepEqual(htmlLang(page), ['ar', 'rtl']);
    assert.ok(page.html.includes('العوامل الثانية'));
    noKeys(page);
  });
});
