/**
 * The language switcher's links: a browser's `GET <any page>?lang=de` (Accept: text/html) keeps the choice in a cookie and sends the
 * browser back to the same page without the parameter. The target is always this request's own path
 * and query (never a URL from the request), so it cannot be an open redirect; a path the browser would
 * read as another host (`//evil.example`, `/\evil.example`) is refused. Only a supported code ever
 * reaches the cookie (never the raw parameter). No CSRF token: the GET changes nothing but how the
 * pages are shown, which a cross-site link may do (SameSite=Lax lets it through on purpose).
 * On an interaction page the cookie is bound to the interaction: a switch during the sign-in outranks
 * ui_locales for its pages (choose-locale.ts).
 */
import type { Context, Next } from 'koa';
import type { Locales } from './locales.js';
import { LANGUAGE_COOKIE } from './choose-locale.js';

const YEAR_MS = 365 * 86400 * 1000;

export function languageSwitch(deps: { locales: Pick<Locales, 'pick'>; secure: boolean; cookiePath: string }) {
  return async function switchLanguage(ctx: Context, next: Next): Promise<void> {
    // a browser following a link names text/html; an API client's `lang` parameter is left to the route
    if ((ctx.method !== 'GET' && ctx.method !== 'HEAD') || ctx.query.lang === undefined || !/\btext\/html\b/i.test(ctx.get('accept'))) return next();
    if (!/^\/(?![/\\])/.test(ctx.path) || ctx.path.includes('\\')) {
      ctx.status = 400;
      ctx.type = 'text/plain';
      ctx.body = 'Bad Request';
      return;
    }
    const wanted = ctx.query.lang;
    const locale = typeof wanted === 'string' && /^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$/.test(wanted) ? deps.locales.pick(wanted) : undefined;
    if (locale) {
      const uid = /^\/interaction\/([A-Za-z0-9_-]{1,64})(?:\/|$)/.exec(ctx.path)?.[1];
      ctx.cookies.set(LANGUAGE_COOKIE, uid ? `${locale}.${uid}` : locale, {
        httpOnly: true, sameSite: 'lax', secure: deps.secure, path: deps.cookiePath, maxAge: YEAR_MS, overwrite: true, signed: false,
      });
    }
    const rest = new URLSearchParams(ctx.querystring);
    rest.delete('lang');
    const query = rest.toString();
    ctx.set('Cache-Control', 'no-store');
    ctx.status = 303;
    ctx.redirect(`${ctx.path}${query ? `?${query}` : ''}`);
  };
}
