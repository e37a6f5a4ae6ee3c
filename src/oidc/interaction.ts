/**
 * oidc-provider's interactions, as every page that completes one uses them: load the pending interaction
 * this browser's cookie is bound to, find one a mailed link was issued from, and finish a step with its
 * result. The interaction router and the lifecycle pages both call these (one implementation).
 */
import type { Context } from 'koa';
import type { Provider } from 'oidc-provider';
import type { ProviderHost } from './provider-host.js';
import { InteractionExpiredError } from '../errors/errors.js';
import { allowFormRedirectTo } from '../http/security-headers.js';
import type { InteractionLocale } from '../i18n/interaction-locale.js';

export type Interaction = Awaited<ReturnType<Provider['interactionDetails']>>;

/** A page for a prompt other than login and consent (lifecycle/, factors/ add theirs by prompt name). */
export type PromptPage = (ctx: Context, interaction: Interaction) => Promise<void>;

/**
 * Loads the interaction named in the path, which must be the one this browser's cookie is bound to.
 * `localeOf` chooses the locale of the interaction's pages (i18n/interaction-locale.ts: ui_locales, the
 * signed-in person's preference).
 */
export function createInteractionLoader(providers: ProviderHost, localeOf?: InteractionLocale) {
  return async function loadInteraction(ctx: Context): Promise<Interaction> {
    let interaction: Interaction;
    try {
      interaction = await providers.current.interactionDetails(ctx.req, ctx.res);
    } catch (err) {
      throw new InteractionExpiredError((err as Error).message);
    }
    if (interaction.uid !== ctx.params.uid) throw new InteractionExpiredError('interaction uid does not match the cookie');
    allowFormRedirectTo(ctx, interaction.params.redirect_uri);
    ctx.set('Cache-Control', 'no-store');
    // the language switcher of a page shown in answer to a POST links back to the interaction's page
    ctx.state.pagePath = `/interaction/${interaction.uid}`;
    await localeOf?.(ctx, interaction);
    return interaction;
  };
}

/** Finishes the interaction step with `result` and redirects back to oidc-provider. */
export async function finishInteraction(providers: ProviderHost, ctx: Context, result: Record<string, unknown>, merge: boolean): Promise<void> {
  const redirectTo = await providers.current.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: merge });
  ctx.status = 303;
  ctx.redirect(redirectTo);
}

/** An interaction a link was issued from, if it is still pending (for a "continue to the app" step). */
export async function pendingInteraction(providers: ProviderHost, uid: string | null | undefined) {
  if (!uid || !/^[A-Za-z0-9_-]{1,64}$/.test(uid)) return undefined;
  const interaction = await providers.current.Interaction.find(uid);
  if (!interaction) return undefined;
  const client = await providers.current.Client.find(String(interaction.params.client_id));
  return { uid, prompt: interaction.prompt.name, redirectUri: interaction.params.redirect_uri, clientName: client?.clientName ?? null };
}
