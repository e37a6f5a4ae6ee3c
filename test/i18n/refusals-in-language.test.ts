/**
 * Issue 20: the refusals a person reads are in their language. The error page says a sentence of ours
 * chosen by the error code (errors.json `errors.byCode.*`) and never shows oidc-provider's or our English
 * description in another language (an English page keeps it); the JSON answers and problem details of
 * the same errors stay English. A password the policy refuses is explained in the page's language with
 * the configured length; the reason a second factor cannot be removed, too.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Koa from 'koa';
import pino from 'pino';
import { errorHandler } from '../../src/errors/error-handler.js';
import { AccessDeniedError, InvalidRequestError, ProblemError, TooManyRequestsError } from '../../src/errors/errors.js';
import { SENTENCE_KEYS, sentenceKeyOf } from '../../src/errors/error-page-message.js';
import { createRenderer } from '../../src/http/render.js';
import { DEFAULT_PATHS } from '../../src/app/paths.js';
import { loadLocales, readLocaleFolder } from '../../src/i18n/locales.js';
import { LOCALES } from '../../src/i18n/locale-list.js';
import { UserAgent, type Page } from '../helpers/user-agent.js';
import { submitMfa, submitPassword, totpCode } from '../mfa/helpers.js';
import { REDIRECT_URI, authorization, bootWithMail, registerRelyingParty, textOf, type LifecycleHarness, type RelyingParty } from '../lifecycle/setup.js';

const localesDir = join(DEFAULT_PATHS.viewsDir, 'locales');
const messages = Object.fromEntries(LOCALES.map((l) => [l, readLocaleFolder(join(localesDir, l))])) as Record<string, Record<string, string>>;
const lead = (html: string) => textOf(/<p class="lead">([\s\S]*?)<\/p>/.exec(html)?.[1] ?? '');
const langOf = (html: string) => /<html lang="([^"]+)"/.exec(html)?.[1];

describe('refusals in the person\'s language (issue 20)', () => {
  it('every sentence the error page can choose is in errors.json; an unknown code gets the generic one, a 429 "too many"', () => {
    for (const key of SENTENCE_KEYS) assert.ok(messages.en![key], key);
    assert.equal(sentenceKeyOf('no_such_code'), 'errors.byCode.unknown');
    assert.equal(sentenceKeyOf('__proto__'), 'errors.byCode.unknown');
    assert.equal(sentenceKeyOf(undefined), 'errors.byCode.unknown');
    assert.equal(sentenceKeyOf('temporarily_unavailable', 429), 'errors.byCode.too_many_requests');
    assert.equal(sentenceKeyOf('invalid_target'), 'errors.byCode.invalid_scope');
  });

  describe('the error page of our own routes', () => {
    let server: Server;
    let base: string;
    const ROUTES: Record<string, () => never> = {
      '/form-only': () => { throw new InvalidRequestError('Expected a form submission.'); },
      '/denied': () => { throw new AccessDeniedError('Your roles do not allow this.'); },
      '/throttled': () => { throw new TooManyRequestsError(60, 'Too many sign-in answers from your address. Wait a minute and try again.'); },
      '/keyed': () => { throw new TooManyRequestsError(60, 'Too many wrong passwords. Wait a few minutes and try again.').withPageMessage('errors.tooManyPasswords'); },
      '/problem': () => { throw new ProblemError('conflict', 409, 'A client with this client_id exists.'); },
    };

    before(async () => {
      const app = new Koa();
      app.silent = true;
      const logger = pino({ level: 'silent' });
      const locales = loadLocales({ dir: localesDir, logger });
      app.use(async (ctx, next) => {
        ctx.state.nonce = 'n';
        ctx.state.locale = ctx.query.lang;
        ctx.state.problemDetails = ctx.path === '/problem';
        await next();
      });
      const branding = { name: 'Gatehouse', logoUrl: '', primaryColor: '#000000', backgroundColor: '#ffffff', supportUrl: '' };
      app.use(errorHandler({ logger, render: createRenderer({ viewsDir: DEFAULT_PATHS.viewsDir, branding, locales, defaultLocale: 'en' }) }));
      app.use(async (ctx) => ROUTES[ctx.path]?.());
      server = createServer(app.callback()).listen(0, '127.0.0.1');
      await once(server, 'listening');
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(() => server.close());

    const page = async (path: string, lang: string) => {
      const res = await fetch(`${base}${path}?lang=${lang}`, { headers: { accept: 'text/html' } });
      return { status: res.status, html: await res.text() };
    };

    it('shows the code\'s sentence in every other language, never the English description; English keeps it', async () => {
      const cases: [string, string, string][] = [
        ['/form-only', 'errors.byCode.invalid_request', 'Expected a form submission.'],
        ['/denied', 'errors.byCode.access_denied', 'Your roles do not allow this.'],
        ['/throttled', 'errors.byCode.too_many_requests', 'Too many sign-in answers from your address. Wait a minute and try again.'],
      ];
      for (const [path, key, english] of cases) {
        assert.equal(lead((await page(path, 'en')).html), english, path);
        for (const locale of LOCALES.filter((l) => l !== 'en')) {
          const { html } = await page(path, locale);
          assert.equal(langOf(html), locale);
          assert.equal(lead(html), textOf(messages[locale]![key]!), `${path} in ${locale}`);
          assert.ok(!html.includes(english), `${path} in ${locale}: no English description`);
        }
      }
    });

    it('an error with a message key of its own shows that message in each language', async () => {
      for (const locale of LOCALES) {
        const { status, html } = await page('/keyed', locale);
        assert.equal(status, 429);
        assert.equal(lead(html), textOf(messages[locale]!['errors.tooManyPasswords']!), locale);
      }
    });

    it('JSON answers and problem details stay English, whatever the language', async () => {
      const json = await fetch(`${base}/form-only?lang=de`, { headers: { accept: 'application/json', 'accept-language': 'de' } });
      assert.deepEqual(await json.json(), { error: 'invalid_request', error_description: 'Expected a form submission.' });
      const problem = await fetch(`${base}/problem?lang=de`, { headers: { accept: 'text/html' } });
      assert.equal(((await problem.json()) as { detail: string }).detail, 'A client with this client_id exists.');
    });
  });

  describe('through a real server', () => {
    let h: LifecycleHarness;
    let rp: RelyingParty;
    const admin = { email: 'grace@example.test', password: 'a compiler in the navy yard', name: 'Grace Hopper' };
    let secret = '';

    before(async () => {
      h = await bootWithMail({ PASSWORD_MIN_LENGTH: '14', MFA_REQUIRED_ROLES: 'admin', REGISTRATION_LIMIT_PER_IP: '1000', EMAIL_LIMIT_PER_ACCOUNT: '100' });
      rp = await registerRelyingParty(h.gh);
      await h.gh.context.roles.create({ name: 'admin' });
      const account = await h.gh.context.accounts.create({ ...admin, emailVerified: true });
      await h.gh.context.accounts.setRoles(admin.email, ['admin']);
      const enrolment = await h.gh.context.factors.totp.startEnrolment(account.id, admin.email);
      secret = enrolment!.secret;
      assert.ok(await h.gh.context.factors.totp.confirmEnrolment(account.id, await totpCode(secret, -1)));
    });
    after(() => h.close());

    const authPage = async (url: string, acceptLanguage: string) => {
      const res = await new UserAgent({ 'accept-language': acceptLanguage }).fetch(url, { headers: { accept: 'text/html' } });
      return { status: res.status, location: res.headers.get('location'), html: await res.text() };
    };

    it('an invalid authorization request: German sentence by the code, no English description; English keeps it', async () => {
      const good = new URL((await authorization(rp)).url);
      const foreign = new URL(good);
      foreign.searchParams.set('redirect_uri', 'https://attacker.example/callback');
      const unknownClient = new URL(good);
      unknownClient.searchParams.set('client_id', 'no-such-client');
      const repeated = `${h.gh.issuer}/auth?client_id=${rp.clientId}&client_id=other&response_type=code&redirect_uri=${encodeURIComponent(REDIRECT_URI)}`;
      const cases: [string, string, string][] = [
        [foreign.href, 'invalid_redirect_uri', 'errors.byCode.invalid_redirect_uri'],
        [unknownClient.href, 'invalid_client', 'errors.byCode.invalid_client'],
        [repeated, 'invalid_request', 'errors.byCode.invalid_request'],
      ];
      for (const [url, code, key] of cases) {
        const en = await authPage(url, 'en');
        assert.equal(en.status, 400, code);
        const description = lead(en.html);
        assert.ok(description.length > 10 && description !== textOf(messages.en![key]!), `${code}: English shows oidc-provider's description (${description})`);
        const de = await authPage(url, 'de-DE,de;q=0.9');
        assert.equal(de.status, 400, code);
        assert.equal(de.location, null, `${code}: never redirected`);
        assert.equal(langOf(de.html), 'de');
        assert.match(de.html, new RegExp(`<code>${code}</code>`));
        assert.equal(lead(de.html), textOf(messages.de![key]!), code);
        assert.match(textOf(de.html), /Wir konnten diese Anfrage nicht abschließen/);
        assert.ok(!textOf(de.html).includes(description), `${code}: the English description is not on the German page`);
        assert.ok(!de.html.includes('attacker.example'), 'the refused redirect_uri is not echoed');
      }
    });

    it('a refused password on the registration page, in French, names the configured length (and the hint too)', async () => {
      const agent = new UserAgent({ 'accept-language': 'fr-FR,fr;q=0.9' });
      const form = await agent.open(`${h.gh.issuer}/register`);
      assert.equal(langOf(form.html), 'fr');
      assert.match(textOf(form.html), /Au moins 14 caractères\./);
      const refused = await agent.submit(form, '/register', { email: 'ada@example.test', password: 'trop court!', terms: 'accepted' });
      assert.equal(refused.status, 400);
      assert.match(textOf(refused.html), /Utilisez au moins 14 caractères\. Quelques mots sans rapport/);
      assert.doesNotMatch(textOf(refused.html), /Use at least/);
      assert.equal(await h.gh.context.accounts.findByEmail('ada@example.test'), undefined);
      // the same refusal in English reads as before, with the number
      const english = new UserAgent({ 'accept-language': 'en' });
      const again = await english.submit(await english.open(`${h.gh.issuer}/register`), '/register', { email: 'ada@example.test', password: 'too short!', terms: 'accepted' });
      assert.match(textOf(again.html), /Use at least 14 characters\./);
    });

    it('Arabic chooses the plural form the number needs', () => {
      const locales = loadLocales({ dir: localesDir, logger: pino({ level: 'silent' }) });
      assert.match(locales.t('ar', 'passwords.too_short', { min: 14 }), /14 حرفًا/);
      assert.match(locales.t('ar', 'passwords.too_short', { min: 10 }), /10 أحرف/);
      assert.match(locales.t('ar', 'passwords.too_long', { max: 100 }), /100 حرف /);
      assert.match(locales.t('en', 'passwords.too_long', { max: 1 }), /at most 1 character\./);
    });

    async function signedInToAccount(acceptLanguage: string): Promise<{ agent: UserAgent; home: Page }> {
      const agent = new UserAgent({ 'accept-language': acceptLanguage });
      const mfa = await submitPassword(agent, await agent.open(`${h.gh.issuer}/account`), admin);
      const home = await submitMfa(agent, mfa, 'totp', await totpCode(secret));
      assert.equal(home.status, 200, home.html.slice(0, 300));
      return { agent, home };
    }

    it('the last second factor stays, with the reason in German; a refused new password on the account page is German too', async () => {
      const { agent, home } = await signedInToAccount('de');
      const security = await agent.open(`${h.gh.issuer}/account/security`);
      assert.equal(langOf(security.html), 'de');
      const refused = await agent.submit(security, '/account/security/totp/remove', {});
      assert.equal(refused.status, 409);
      assert.match(textOf(refused.html), /Das ist Ihr letzter zweiter Faktor, und Ihre Organisation schreibt einen vor\./);
      assert.doesNotMatch(textOf(refused.html), /This is your last second factor/);
      assert.equal(await h.gh.context.factors.totp.status((await h.gh.context.accounts.findByEmail(admin.email))!.id), 'active');

      const password = await agent.submit(home, '/account/password', { current_password: admin.password, new_password: 'kurz', confirm_password: 'kurz' });
      assert.equal(password.status, 400);
      assert.match(textOf(password.html), /Verwenden Sie mindestens 14 Zeichen\./);
      assert.doesNotMatch(textOf(password.html), /Use at least/);

      // the profile's name rule and a new address that is not one: German, as the rest of the page
      const name = await agent.submit(home, '/account/profile', { name: 'Grace www.example.com' });
      assert.equal(name.status, 400);
      assert.match(textOf(name.html), new RegExp(messages.de!['lifecycle.name.address']!.replace(/[.]/g, '\\.')));
      const email = await agent.submit(home, '/account/email', { email: 'not-an-address' });
      assert.equal(email.status, 400);
      assert.match(textOf(email.html), /Geben Sie eine E-Mail-Adresse ein, zum Beispiel name@example\.com\./);
      assert.doesNotMatch(textOf(email.html), /Enter an email address/);
      const same = await agent.submit(home, '/account/email', { email: admin.email });
      assert.match(textOf(same.html), /Das ist bereits Ihre E-Mail-Adresse\./);
    });
  });
});
