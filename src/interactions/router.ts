/**
 * Our half of oidc-provider's interactions: GET /interaction/:uid shows the page for the pending prompt;
 * the POST routes complete it. Each step is its own module; this file only wires them.
 */
import Router from '@koa/router';
import type { Context, Next } from 'koa';
import type { ProviderHost } from '../oidc/provider-host.js';
import { createInteractionLoader, finishInteraction, type Interaction, type PromptPage } from '../oidc/interaction.js';
import type { Renderer, Title } from '../http/render.js';
import { InvalidRequestError, StepCompleteError } from '../errors/errors.js';
import type { LoginStep } from './login.js';
import type { ConsentStep } from './consent.js';
import type { MfaStep } from './mfa-step.js';
import type { WebAuthnStep } from './mfa-webauthn.js';
import type { FederatedStep } from './federated.js';
import type { InteractionLocale } from '../i18n/interaction-locale.js';

export function createInteractionRouter(deps: {
  providers: ProviderHost;
  render: Renderer;
  csrf: (ctx: Context, next: Next) => Promise<void>;
  login: LoginStep;
  consent: ConsentStep;
  mfa: MfaStep;
  webauthn: WebAuthnStep;
  federated?: FederatedStep;
  promptPages?: Record<string, PromptPage>;
  /** the locale of the interaction's pages (i18n/interaction-locale.ts) */
  interactionLocale?: InteractionLocale;
}) {
  const { providers, login, consent, mfa, webauthn } = deps;
  const router = new Router({ prefix: '/interaction' });
  const loadInteraction = createInteractionLoader(providers, deps.interactionLocale);

  /** The sign-in is complete; the person reads the notice (an upstream email kept), then continues to the app themselves. */
  async function showNotice(ctx: Context, result: Record<string, unknown>, notice: Title) {
    const continueTo = await providers.current.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
    await deps.render(ctx, 'federated-notice', { title: { key: 'federated.notice.title' }, message: notice, continueTo });
  }


  router.get('/:uid', deps.csrf, async (ctx) => {
    const interaction = await loadInteraction(ctx);
    switch (interaction.prompt.name) {
      case 'login':
        return login.show(ctx, interaction);
      case 'consent':
        return consent.show(ctx, interaction);
      case 'mfa':
        return mfa.show(ctx, interaction);
      default: {
        const page = deps.promptPages?.[interaction.prompt.name];
        if (page) return page(ctx, interaction);
        throw new InvalidRequestError('This sign-in step is not supported.', `unknown prompt ${interaction.prompt.name}`).withPageMessage('errors.stepUnsupported');
      }
    }
  });

  router.post('/:uid/login', deps.csrf, async (ctx) => {
    const interaction = await loadInteraction(ctx);
    if (interaction.prompt.name !== 'login') throw new StepCompleteError();
    const done = await login.submit(ctx, interaction, ctx.state.form as Record<string, string>);
    if (!done) return;
    if (!done.notice) return finishInteraction(providers, ctx, done.result, false);
    await showNotice(ctx, done.result, done.notice);
  });

  router.post('/:uid/mfa', deps.csrf, async (ctx) => {
    const interaction = await loadInteraction(ctx);
    if (interaction.prompt.name !== 'mfa') throw new StepCompleteError();
    const result = await mfa.submit(ctx, interaction, ctx.state.form as Record<string, string>);
    if (result) await finishInteraction(providers, ctx, result, false);
  });

  // WebAuthn (passkey sign-in on the login prompt, security key on the mfa prompt): JSON for the page script
  router.post('/:uid/webauthn/options', deps.csrf, async (ctx) => {
    ctx.body = await webauthn.options(await loadInteraction(ctx));
  });

  router.post('/:uid/webauthn', deps.csrf, async (ctx) => {
    const interaction = await loadInteraction(ctx);
    const result = await webauthn.verify(ctx, interaction, ctx.state.form as Record<string, string>);
    ctx.body = { redirect: await providers.current.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false }) };
  });

  // upstream IdP sign-in (interactions/federated.ts): leave for the IdP, then come back from the ACS
  router.post('/:uid/federated/:provider', deps.csrf, async (ctx) => {
    const interaction = await loadInteraction(ctx);
    if (interaction.prompt.name !== 'login' || !deps.federated) throw new StepCompleteError();
    await deps.federated.start(ctx, interaction, ctx.params.provider as string);
  });

  // the CSRF token is issued here too: the page asking for the local password (before a link) posts a form
  router.get('/:uid/federated/:provider/complete', deps.csrf, async (ctx) => {
    const interaction = await loadInteraction(ctx);
    if (interaction.prompt.name !== 'login' || !deps.federated) throw new StepCompleteError();
    const done = await deps.federated.complete(ctx, interaction, ctx.params.provider as string);
    if (!done) return; // a page was shown (prove the local account before linking)
    if (!done.notice) return finishInteraction(providers, ctx, done.result, false);
    await showNotice(ctx, done.result, done.notice);
  });

  // the link page's "Use a passkey": a challenge for the pending account's passkeys; the assertion then posts the link form
  router.post('/:uid/federated/:provider/link/passkey-options', deps.csrf, async (ctx) => {
    const interaction = await loadInteraction(ctx);
    if (interaction.prompt.name !== 'login' || !deps.federated) throw new StepCompleteError();
    ctx.body = await deps.federated.linkPasskeyOptions(interaction, ctx.params.provider as string, ctx.state.form as Record<string, string>);
  });

  router.post('/:uid/federated/:provider/link', deps.csrf, async (ctx) => {
    const interaction = await loadInteraction(ctx);
    if (interaction.prompt.name !== 'login' || !deps.federated) throw new StepCompleteError();
    const done = await deps.federated.link(ctx, interaction, ctx.params.provider as string, ctx.state.form as Record<string, string>);
    if (!done) return;
    if (!done.notice) return finishInteraction(providers, ctx, done.result, false);
    await showNotice(ctx, done.result, done.notice);
  });

  router.post('/:uid/consent', deps.csrf, async (ctx) => {
    const interaction = await loadInteraction(ctx);
    if (interaction.prompt.name !== 'consent') throw new StepCompleteError(undefined, 'This consent step is already complete.');
    await finishInteraction(providers, ctx, await consent.grant(interaction), true);
  });

  router.post('/:uid/abort', deps.csrf, async (ctx) => {
    const interaction = await loadInteraction(ctx);
    // OpenID Connect Core §3.1.2.6: the person said no
    await finishInteraction(providers, ctx, { error: 'access_denied', error_description: 'End-User aborted interaction' }, false);
  });

  return router;
}
