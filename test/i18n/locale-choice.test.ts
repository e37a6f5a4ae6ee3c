/**
 * Which language the pages and mails are in (issue 20 §3, i18n/choose-locale.ts), through the real
 * pages: ui_locales beats Accept-Language, a saved preference beats the browser, Accept-Language is
 * honoured, unsupported values fall back to DEFAULT_LOCALE; the switcher keeps the interaction and
 * redirects only to the page it was on; discovery lists ui_locales_supported; a verification mail sent
 * in a French flow is French.
 */
import assert from 'node:assert/strict';
import { UserAgent, formAction } from '../helpers/user-agent.js';
import { createAdminCaller, managementToken } from '../admin/admin-client.js';
import { atClient, authorization, bootWithMail, registerRelyingParty, textOf, type LifecycleHarness, type RelyingParty } from '../lifecycle/setup.js';

const langOf = (html: string) => /<html lang="([^"]+)" dir="([^"]+)"/.exec(html)?.slice(1) ?? [];

describe('choosing the language', () => {
  let h: LifecycleHarness;
  let rp: RelyingParty;
  const person = { email: 'lise@example.test', password: 'a quiet harbour of lanterns', name: 'Lise Meitner' };

  before(async () => {
    h = await bootWithMail({ REGISTRATION_LIMIT_PER_IP: '1000', EMAIL_LIMIT_PER_ACCOUNT: '100' });
    rp = await registerRelyingParty(h.gh);
    await h.gh.context.accounts.create({ ...person, emailVerified: true });
  });
  after(() => h.close());

  it('discovery lists ui_locales_supported', async () => {
    const doc = (await (await fetch(`${h.gh.issuer}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    assert.deepEqual(doc.ui_locales_supported, ['en', 'de', 'fr', 'es', 'ar']);
  });

  it('ui_locales=de beats Accept-Language: fr on the login page', async () => {
    const page = await new UserAgent({ 'accept-language': 'fr' }).open((await authorization(rp, { ui_locales: 'tlh de-AT fr' })).url, atClient);
    assert.deepEqual(langOf(page.html), ['de', 'ltr']);
    assert.match(textOf(page.html), /Anmelden/);
    assert.match(page.html, /<title>Anmelden · Gatehouse<\/title>/);
  });

  it('honours Accept-Language (by quality), and falls back to English for what it does not know', async () => {
    const fr = await new UserAgent({ 'accept-language': 'tlh, es;q=0.5, fr-CA;q=0.8' }).open((await authorization(rp)).url, atClient);
    assert.deepEqual(langOf(fr.html), ['fr', 'ltr']);
    assert.match(textOf(fr.html), /Se connecter/);
    const ar = await new UserAgent({ 'accept-language': 'ar-EG' }).open((await authorization(rp)).url, atClient);
    assert.deepEqual(langOf(ar.html), ['ar', 'rtl']);
    for (const [header, ui] of [['tlh, x-klingon', 'tlh xx'], ['*', ''], ['', '<script>']] as const) {
      const page = await new UserAgent(header ? { 'accept-language': header } : {}).open((await authorization(rp, ui ? { ui_locales: ui } : {})).url, atClient);
      assert.deepEqual(langOf(page.html), ['en', 'ltr'], `${header} / ${ui}`);
      assert.match(textOf(page.html), /Sign in/);
    }
  });

  it('error pages are in the person\'s language; the JSON answer of the same error stays English', async () => {
    const page = await new UserAgent({ 'accept-language': 'fr', accept: 'text/html' }).fetch(`${h.gh.issuer}/interaction/no-such-interaction`);
    assert.equal(page.status, 400);
    const html = await page.text();
    assert.match(textOf(html), /Cette page de connexion a expiré/);
    assert.match(html, /<title>Un problème est survenu · Gatehouse<\/title>/);
    const json = await new UserAgent({ 'accept-language': 'fr', accept: 'application/json' }).fetch(`${h.gh.issuer}/interaction/no-such-interaction`);
    assert.deepEqual(await json.json(), { error: 'invalid_request', error_description: 'This sign-in page has expired. Go back to the app and start signing in again.' });
  });

  it('a wrong password is answered in the page\'s language', async () => {
    const agent = new UserAgent({ 'accept-language': 'es' });
    const login = await agent.open((await authorization(rp)).url, atClient);
    const wrong = await agent.submit(login, formAction(login.html, /\/login$/), { email: person.email, password: 'not the password at all' });
    assert.equal(wrong.status, 401);
    assert.match(textOf(wrong.html), /El correo electrónico o la contraseña no son correctos/);
    assert.deepEqual(langOf(wrong.html), ['es', 'ltr']);
  });

  it('a saved preference beats the browser once the sign-in knows the person (consent), set through the management API', async () => {
    const account = (await h.gh.context.accounts.findByEmail(person.email))!;
    const call = createAdminCaller(h.gh);
    const token = await managementToken(h.gh, 'admin:users:read admin:users:write');
    const before = await call('GET', `/users/${account.id}`, { token });
    assert.equal(before.body.locale, null);
    // only a supported locale is accepted (a problem, nothing stored)
    for (const locale of ['tlh', 'de<script>', 12]) {
      const refused = await call('PATCH', `/users/${account.id}`, { token, body: { locale }, headers: { 'if-match': before.headers.get('etag')! } });
      assert.equal(refused.status, 400, String(locale));
    }
    const set = await call('PATCH', `/users/${account.id}`, { token, body: { locale: 'de' }, headers: { 'if-match': before.headers.get('etag')! } });
    assert.equal(set.status, 200);
    assert.equal(set.body.locale, 'de');
    assert.equal((await h.gh.context.accounts.findById(account.id))?.locale, 'de');

    const agent = new UserAgent({ 'accept-language': 'fr' });
    const login = await agent.open((await authorization(rp)).url, atClient);
    assert.equal(langOf(login.html)[0], 'fr'); // nobody is known yet: the browser's
    const consent = await agent.submit(login, formAction(login.html, /\/login$/), person, atClient);
    assert.equal(consent.status, 200);
    assert.equal(langOf(consent.html)[0], 'de');
    // ui_locales still beats the saved preference
    const agent2 = new UserAgent({ 'accept-language': 'fr' });
    const login2 = await agent2.open((await authorization(rp, { ui_locales: 'es' })).url, atClient);
    const consent2 = await agent2.submit(login2, formAction(login2.html, /\/login$/), person, atClient);
    assert.equal(langOf(consent2.html)[0], 'es');
    await h.gh.context.accounts.setLocale(account.id, null);
  });

  it('the switcher keeps the interaction, outranks ui_locales during that sign-in, and only ranks below it afterwards', async () => {
    const agent = new UserAgent({ 'accept-language': 'en' });
    const login = await agent.open((await authorization(rp, { ui_locales: 'de' })).url, atClient);
    const path = new URL(login.url).pathname;
    assert.match(path, /^\/interaction\/[A-Za-z0-9_-]+$/);
    const link = /<a href="([^"]+)" lang="fr"/.exec(login.html)?.[1];
    assert.equal(link, `${path}?lang=fr`);
    const res = await agent.fetch(new URL(link!, login.url).href, { headers: { accept: 'text/html' } });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), path);
    const again = await agent.open(new URL(path, login.url).href);
    assert.equal(again.status, 200);
    assert.deepEqual(langOf(again.html), ['fr', 'ltr']);
    // the sign-in goes on in French: the consent page is the next interaction of the same chain
    const consent = await agent.submit(again, formAction(again.html, /\/login$/), person, atClient);
    assert.deepEqual(langOf(consent.html)[0], 'fr');
    // a later sign-in whose app asks for German gets German: the earlier switch ranks below ui_locales
    const later = await agent.open((await authorization(rp, { ui_locales: 'de' })).url, atClient);
    assert.deepEqual(langOf(later.html)[0], 'de');
    // and without ui_locales, the remembered switch beats Accept-Language
    const plain = await agent.open((await authorization(rp)).url, atClient);
    assert.deepEqual(langOf(plain.html)[0], 'fr');
  });

  it('the switcher refuses to be an open redirect, keeps junk out of its cookie and headers', async () => {
    const agent = new UserAgent();
    const login = await agent.open((await authorization(rp)).url, atClient);
    const path = new URL(login.url).pathname;
    const go = (suffix: string) => agent.fetch(`${h.gh.issuer}${suffix}`, { headers: { accept: 'text/html' } });

    // a return parameter is not followed: the answer is the same page, the parameter left as it was
    const withReturn = await go(`${path}?lang=de&return=https://evil.example/&next=//evil.example`);
    assert.equal(withReturn.status, 303);
    const location = withReturn.headers.get('location')!;
    assert.ok(location.startsWith(`${path}?`), location);
    assert.equal(new URL(location, h.gh.issuer).origin, new URL(h.gh.issuer).origin);

    // a path the browser would read as another host
    for (const evil of ['//evil.example/?lang=de', '/\\evil.example/?lang=de', '/%5Cevil.example?lang=de']) {
      const res = await go(evil);
      const to = res.headers.get('location');
      assert.ok(!to || new URL(to, h.gh.issuer).origin === new URL(h.gh.issuer).origin, `${evil} → ${to}`);
    }

    // header injection and unknown codes: no cookie at all, and nothing but our own headers
    for (const lang of ['de%0d%0aSet-Cookie:%20evil=1', 'de%0aX-Evil:%201', 'xx', 'de;%20Path=/', '"de"', 'a'.repeat(200)]) {
      const res = await fetch(`${h.gh.issuer}${path}?lang=${lang}`, { redirect: 'manual', headers: { accept: 'text/html' } });
      assert.equal(res.status, 303, lang);
      assert.equal(res.headers.get('x-evil'), null);
      assert.deepEqual(res.headers.getSetCookie().filter((c) => /gatehouse_lang|evil/.test(c)), [], lang);
      assert.ok(res.headers.get('location')!.startsWith(path), lang);
    }
    // a page reached with a query links back to itself with it (a reset link keeps its token); an error page does not
    const forgot = await agent.open(`${h.gh.issuer}/password/forgot?interaction=abc_DEF-123`);
    assert.match(forgot.html, /href="\/password\/forgot\?interaction=abc_DEF-123&amp;lang=fr"/);
    const refused = await agent.fetch(`${h.gh.issuer}/auth?client_id=${rp.clientId}&redirect_uri=https%3A%2F%2Fattacker.example%2F&response_type=code&scope=openid`, { headers: { accept: 'text/html' } });
    const refusedHtml = await refused.text();
    assert.equal(refused.status, 400);
    assert.ok(!refusedHtml.includes('attacker.example'), 'the refused redirect_uri is not echoed in the switcher');
    assert.match(refusedHtml, /href="\/auth\?lang=fr"/);
    // a supported code sets exactly that code, httpOnly and SameSite=Lax
    const ok = await fetch(`${h.gh.issuer}/register?lang=ES-es`, { redirect: 'manual', headers: { accept: 'text/html' } });
    const cookie = ok.headers.getSetCookie().find((c) => c.startsWith('gatehouse_lang='));
    assert.match(cookie ?? '', /^gatehouse_lang=es;/);
    assert.match(cookie ?? '', /httponly/i);
    assert.match(cookie ?? '', /samesite=lax/i);
    assert.equal(ok.headers.get('location'), '/register');
    // an API client's lang parameter is not the switcher's: no redirect, no cookie
    const api = await fetch(`${h.gh.issuer}/.well-known/openid-configuration?lang=de`, { redirect: 'manual', headers: { accept: 'application/json' } });
    assert.equal(api.status, 200);
    assert.deepEqual(api.headers.getSetCookie(), []);
  });

  it('a verification mail sent in a French flow is French', async () => {
    const agent = new UserAgent({ 'accept-language': 'fr-FR,fr;q=0.9,en;q=0.5' });
    const form = await agent.open(`${h.gh.issuer}/register`);
    assert.deepEqual(langOf(form.html)[0], 'fr');
    const sent = await agent.submit(form, formAction(form.html, /\/register$/), { email: 'marie@example.test', password: 'radium glows softly at night', name: 'Marie', terms: 'accepted' });
    assert.equal(sent.status, 200);
    const mail = await h.mail.waitFor((m) => m.to.includes('marie@example.test'));
    assert.equal(mail.subject, 'Confirmez votre adresse e-mail pour Gatehouse');
    assert.match(mail.text, /Confirmez que cette adresse vous appartient/);
    assert.match(mail.text, /valable \d+ (heures?|minutes?|jours?)/);
    assert.match(mail.html, /<html lang="fr" dir="ltr">/);
    assert.match(mail.html, /Confirmer mon adresse/);
  });
});
