/**
 * POST /account/language: the person's saved language for pages and mail (issue 20 §3: after the app's
 * ui_locales, before the browser's Accept-Language). A CSRF-protected form like every account form (the
 * router's csrf step). Only a code the form offers is accepted, exactly as offered (`de`, not `DE` or
 * `de-AT`): the form's own values never need normalising, so anything else is a forged request, answered
 * 400 with nothing saved. An empty value clears the preference (the browser decides again).
 */
import type Router from '@koa/router';
import type { Context } from 'koa';
import type { Title } from '../http/render.js';
import { LOCALES, type Locale } from '../i18n/locale-list.js';
import type { AccountState } from './account-auth.js';

/** The one domain call this route makes (accounts/accounts.ts `setLocale`). */
export type LocalePreference = { setLocale(id: string, locale: string | null): Promise<void> };

export function registerLanguageRoute(router: Router, deps: {
  locale: LocalePreference;
  page(ctx: Context, view: string, title: Title, locals?: Record<string, unknown>): Promise<void>;
}): void {
  router.post('/language', async (ctx) => {
    const { account } = ctx.state as AccountState;
    const wanted = (ctx.state.form as Record<string, unknown> | undefined)?.locale;
    const locale = wanted === '' ? null : LOCALES.find((l) => l === wanted);
    if (locale === undefined) {
      ctx.status = 400;
      await deps.page(ctx, 'account', { key: 'account.home.title' }, { languageError: { key: 'account.error.language' } });
      ctx.status = 400;
      return;
    }
    await deps.locale.setLocale(account.id, locale);
    ctx.redirect('/account?notice=language-saved');
  });
}

/** The saved preference, when it names a shipped locale (a value from before a locale was dropped does not). */
export const savedLocale = (account: { locale?: string | null }): Locale | undefined => LOCALES.find((l) => l === account.locale);
