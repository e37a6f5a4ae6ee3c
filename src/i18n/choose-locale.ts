/**
 * Which language a page is shown in (issue 20 §3), first that names a supported locale:
 *  1. a switch the person made during this sign-in (the switcher's cookie, bound to the interaction chain);
 *  2. `ui_locales` of the authorization request (OpenID Connect Core §3.1.2.1: "End-User's preferred
 *     languages and scripts for the user interface, ... in order of preference"), the first supported one;
 *  3. the person's saved preference (the account's `locale`), once the sign-in knows who it is;
 *  4. an earlier switch in this browser (the same cookie, from another sign-in or page);
 *  5. the browser's Accept-Language (RFC 9110 §12.5.4, by quality; Koa's negotiator);
 *  6. the tenant's default locale, else DEFAULT_LOCALE.
 * A switch during the sign-in ranks above ui_locales because otherwise the switcher could never change
 * the page of an app that sends ui_locales; a switch from before ranks below it, as the RP asked.
 */
import type { Context, Next } from 'koa';
import type { Locales } from './locales.js';
import type { Locale } from './locale-list.js';

export const LANGUAGE_COOKIE = 'gatehouse_lang';

/** The switcher's cookie: `de`, or `de.<interaction uid or chain id>` for a switch made during a sign-in. */
export function readLanguageCookie(ctx: Context, locales: Pick<Locales, 'pick'>): { locale: Locale; boundTo: string | null } | undefined {
  const raw = ctx.cookies.get(LANGUAGE_COOKIE);
  const match = raw ? /^([a-z]{2,3})(?:\.([A-Za-z0-9_-]{1,64}))?$/.exec(raw) : null;
  const locale = match && locales.pick(match[1]);
  return locale ? { locale, boundTo: match[2] ?? null } : undefined;
}

/** The browser's most wanted supported language; none without the header or with only `*`. */
export function acceptedLocale(ctx: Context, locales: Pick<Locales, 'supported' | 'pick'>): Locale | undefined {
  const header = ctx.get('Accept-Language');
  if (!header || !/[a-z]/i.test(header)) return undefined;
  const best = ctx.acceptsLanguages([...locales.supported]);
  return typeof best === 'string' ? locales.pick(best) : undefined;
}

export type LocaleSignals = {
  /** the request's `ui_locales` (space-separated BCP 47 tags) */
  uiLocales?: unknown;
  /** the signed-in person's saved preference */
  accountLocale?: string | null;
  /** the ids of the interaction the page is for: the uid, and oidc-provider's chain id (`cid`) */
  interaction?: { uid: string; cid?: string | undefined };
};

export function chooseLocale(ctx: Context, locales: Locales, fallback: Locale, signals: LocaleSignals = {}): Locale {
  const cookie = readLanguageCookie(ctx, locales);
  const ids = signals.interaction ? [signals.interaction.uid, signals.interaction.cid].filter(Boolean) : [];
  const switchedNow = cookie?.boundTo && ids.includes(cookie.boundTo) ? cookie.locale : undefined;
  const ui = typeof signals.uiLocales === 'string' ? signals.uiLocales.split(' ').slice(0, 20) : [];
  return locales.pick(switchedNow, ...ui, signals.accountLocale, cookie?.locale, acceptedLocale(ctx, locales)) ?? fallback;
}

/** First of our own steps: the locale every page of this request is shown in, until a step knows more. */
export function requestLocale(deps: { locales: Locales; fallback: Locale }) {
  return async function chooseRequestLocale(ctx: Context, next: Next): Promise<void> {
    ctx.state.locale = chooseLocale(ctx, deps.locales, deps.fallback);
    return next();
  };
}
