/**
 * The locale of an interaction's pages (choose-locale.ts has the order): the request's ui_locales and the
 * signed-in person's saved preference join the browser's signals. Run by the interaction loader
 * (oidc/interaction.ts) each time a page of a sign-in loads its interaction.
 */
import type { Context } from 'koa';
import type { Locales } from './locales.js';
import type { Locale } from './locale-list.js';
import { chooseLocale, LANGUAGE_COOKIE, readLanguageCookie } from './choose-locale.js';

/** The parts of oidc-provider's interaction read here (interactionDetails: params, session, cid). */
type InteractionLike = { uid: string; cid?: string; params: Record<string, unknown>; session?: { accountId?: string } | undefined };

export type InteractionLocale = (ctx: Context, interaction: InteractionLike) => Promise<void>;

export function createInteractionLocale(deps: {
  locales: Locales;
  fallback: Locale;
  accountLocale(accountId: string): Promise<string | null | undefined>;
  secure: boolean;
  cookiePath: string;
}): InteractionLocale {
  return async (ctx, interaction) => {
    const accountId = interaction.session?.accountId;
    const accountLocale = accountId ? await deps.accountLocale(accountId) : undefined;
    const ids = { uid: interaction.uid, cid: interaction.cid };
    ctx.state.locale = chooseLocale(ctx, deps.locales, deps.fallback, { uiLocales: interaction.params.ui_locales, accountLocale, interaction: ids });
    // A switch bound to this interaction's uid is rebound to its chain: the sign-in's next prompts
    // (mfa, consent: new interactions of the same chain) keep the language the person chose.
    const cookie = readLanguageCookie(ctx, deps.locales);
    if (cookie && interaction.cid && cookie.boundTo === interaction.uid) {
      ctx.cookies.set(LANGUAGE_COOKIE, `${cookie.locale}.${interaction.cid}`, {
        httpOnly: true, sameSite: 'lax', secure: deps.secure, path: deps.cookiePath, maxAge: 365 * 86400 * 1000, overwrite: true, signed: false,
      });
    }
  };
}
