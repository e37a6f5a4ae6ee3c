/**
 * Renders a page template inside views/_layout.ejs with the branding, CSP nonce and CSRF token, and
 * `url(path)`: an app-relative path (`/account`) as the browser must see it, under the issuer's base path
 * (http/base-path.ts). Every link, form action and asset of a template goes through it.
 *
 * Every page is in the request's locale (`ctx.state.locale`, i18n/choose-locale.ts): templates get `t(key,
 * values)` (and `th` for a message with markup; `text` for a Title), `locale`, `dir` ('rtl' for Arabic), `formatDate`/`formatNumber`, the brand texts of that
 * locale, and `languages` (the switcher's links back to this page). A `title` given as `{ key, values }`
 * is translated here, and so is an `error` given that way.
 */
import { join } from 'node:path';
import ejs from 'ejs';
import type { Context } from 'koa';
import { underBase } from './base-path.js';
import type { Locales, MessageValues } from '../i18n/locales.js';
import type { Locale } from '../i18n/locale-list.js';

export type Branding = {
  name: string; logoUrl: string; primaryColor: string; backgroundColor: string;
  /** a "Need help?" link under every page and email; '' for none */
  supportUrl: string;
  /** the terms a person accepts by registering (REGISTRATION_TERMS_URL); '' for none */
  termsUrl?: string;
  /** the name and links per locale (BRAND_TEXTS), over the ones above */
  byLocale?: Partial<Record<string, { name?: string; supportUrl?: string; termsUrl?: string }>>;
};

/** The branding as shown in one locale. */
export function brandingIn(branding: Branding, locale: string): Branding {
  const own = branding.byLocale?.[locale];
  return own ? { ...branding, ...own } : branding;
}

/**
 * A text of a page: English text (pages not yet translated) or a message key with its values. `en` is
 * English wording that an English page shows instead of the key's (an error's own, more precise
 * description); every other locale shows the key's message.
 */
export type Title = string | { key: string; values?: MessageValues; en?: string };

export type Renderer = (ctx: Context, view: string, locals: Record<string, unknown> & { title: Title }) => Promise<void>;

export function createRenderer(deps: { viewsDir: string; branding: Branding; basePath?: string; locales: Locales; defaultLocale: Locale }): Renderer {
  const { viewsDir, branding, locales } = deps;
  const base = deps.basePath ?? '';
  const url = (path: string) => underBase(base, path);
  // EJS caches compiled templates by filename; templates are part of the release, not edited at run time.
  const options = { cache: true, async: false, strict: false, rmWhitespace: false };
  return async (ctx, view, locals) => {
    const locale = locales.pick(ctx.state.locale) ?? deps.defaultLocale;
    const tr = locales.translator(locale);
    const text = (m: Title) => (typeof m === 'string' ? m : locale === 'en' && m.en !== undefined ? m.en : tr.t(m.key, m.values));
    const title = text(locals.title);
    // an error or notice given as a message key is shown in the page's locale too
    const error = locals.error && typeof locals.error === 'object' ? text(locals.error as Title) : locals.error;
    const shared = {
      brand: brandingIn(branding, locale), url, nonce: ctx.state.nonce as string, csrfToken: ctx.state.csrfToken ?? '', error: null,
      t: tr.t, th: htmlMessage(tr.t), text, locale, dir: tr.dir, formatDate: tr.date, formatNumber: tr.number,
      languages: switcherLinks(ctx, locales, locale, url, view),
    };
    const data = { ...shared, ...locals, title, ...(error !== undefined ? { error } : {}) };
    const body = await ejs.renderFile(join(viewsDir, `${view}.ejs`), data, options);
    ctx.type = 'html';
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await ejs.renderFile(join(viewsDir, '_layout.ejs'), { ...data, body }, options);
  };
}

/**
 * `th(key, values)`: a message that carries its own markup (`to continue to <strong>{client}</strong>`),
 * for `<%- %>`. The messages are part of the release; every value is escaped before it goes in.
 */
export function htmlMessage(t: (key: string, values?: MessageValues) => string) {
  return (key: string, values: MessageValues = {}) =>
    t(key, Object.fromEntries(Object.entries(values).map(([k, v]) => [k, typeof v === 'string' ? ejs.escapeXML(v) : v])));
}

/**
 * The switcher's links: this page again with `lang` (i18n/language-switch.ts). A page shown in answer to
 * a POST links to its GET: the interaction's page (`ctx.state.pagePath`, set by the interaction loader),
 * else the same path; a GET page keeps its query (a reset link's token), an error page does not.
 */
function switcherLinks(ctx: Context, locales: Locales, current: Locale, url: (path: string) => string, view: string) {
  const path = (ctx.state.pagePath as string | undefined) ?? ctx.path;
  // an error page drops the query: it is what was refused (a foreign redirect_uri must not come back as a link)
  const keepQuery = ctx.method === 'GET' && !ctx.state.pagePath && view !== 'error';
  const query = new URLSearchParams(keepQuery ? ctx.querystring : '');
  query.delete('lang');
  return locales.languages.map(({ code, name }) => {
    query.set('lang', code);
    return { code, name, current: code === current, href: `${url(path)}?${query.toString()}` };
  });
}
