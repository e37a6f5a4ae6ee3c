/**
 * Email verification pages. The link in the mail opens a page with a button (a POST verifies), so mail
 * scanners that fetch links do not use them up. Afterwards, when the link was sent from a sign-in that is
 * still pending in this browser, the page offers to continue to the app.
 * Also the `verify_email` prompt's page: a client that requires a verified email sends the person here.
 */
import type { Title } from '../http/render.js';
import type Router from '@koa/router';
import type { Context } from 'koa';
import { sourceOf } from '../audit/audit-log.js';
import { InvalidRequestError, StepCompleteError } from '../errors/errors.js';
import { allowFormRedirectTo } from '../http/security-headers.js';
import type { Interaction } from '../oidc/interaction.js';
import { field } from '../http/form-field.js';
import { finishInteraction, pendingInteraction } from '../oidc/interaction.js';
import { renderLinkProblem } from './link-problem.js';
import { takeQuotas } from '../protection/lockout.js';
import type { LifecycleDeps } from './lifecycle-deps.js';

export function addVerificationRoutes(router: Router, deps: LifecycleDeps) {
  const { providers, render } = deps;

  router.get('/verify-email', deps.csrf, async (ctx) => {
    const token = String(ctx.query.token ?? '');
    const check = await deps.verification.inspect(token);
    if (check.state !== 'valid') return renderLinkProblem(render, ctx, 'verify', check.state);
    await render(ctx, 'verify-email', { title: { key: 'lifecycle.verify.title' }, email: check.record?.email ?? '', token });
  });

  router.post('/verify-email', deps.csrf, async (ctx) => {
    const result = await deps.verification.verify(field(ctx.state.form as Record<string, string>, 'token', 100), sourceOf(ctx));
    if (result.state !== 'valid') return renderLinkProblem(render, ctx, 'verify', result.state);
    const pending = await pendingInteraction(providers, result.interactionUid);
    const continueAction =
      pending?.prompt === 'login' ? `/interaction/${pending.uid}/register/continue`
      : pending?.prompt === 'verify_email' ? `/interaction/${pending.uid}/verify-email/continue`
      : null;
    if (continueAction) allowFormRedirectTo(ctx, pending?.redirectUri);
    await render(ctx, 'verify-email-done', { title: { key: 'lifecycle.verified.title' }, email: result.account?.email ?? '', continueAction, clientName: pending?.clientName ?? null });
  });

  async function promptInteraction(ctx: Context) {
    const interaction = await deps.loadInteraction(ctx);
    if (interaction.prompt.name !== 'verify_email') throw new StepCompleteError();
    const account = await deps.accounts.findById(String(interaction.session?.accountId));
    if (!account) throw new StepCompleteError('verify_email prompt without an account');
    return { interaction, account };
  }

  async function promptPage(ctx: Context, interaction: Interaction, locals: { sent?: boolean; error?: Title | null } = {}) {
    const account = await deps.accounts.findById(String(interaction.session?.accountId));
    const client = await providers.current.Client.find(String(interaction.params.client_id));
    await render(ctx, 'verify-email-prompt', {
      title: { key: 'lifecycle.verify.title' },
      uid: interaction.uid,
      email: account?.email ?? '',
      clientName: client?.clientName ?? null,
      sent: locals.sent ?? false,
      error: locals.error ?? null,
    });
  }

  router.post('/interaction/:uid/verify-email/send', deps.csrf, async (ctx) => {
    const { interaction, account } = await promptInteraction(ctx);
    await takeQuotas('verification emails', deps.limits.emailPerIp.take(ctx.ip));
    // past the per-address mail limit, send() sends nothing and the page stays the same
    await deps.verification.send(account, { interactionUid: interaction.uid, locale: ctx.state.locale as string | undefined }, sourceOf(ctx));
    await promptPage(ctx, interaction, { sent: true });
  });

  router.post('/interaction/:uid/verify-email/continue', deps.csrf, async (ctx) => {
    const { interaction, account } = await promptInteraction(ctx);
    if (!account.emailVerified) {
      await promptPage(ctx, interaction, { sent: true, error: { key: 'lifecycle.notVerifiedYet' } });
      ctx.status = 400;
      return;
    }
    // the prompt's check passes now; oidc-provider moves on to the next prompt (or issues the code)
    await finishInteraction(providers, ctx, {}, true);
  });

  return { verifyEmailPrompt: (ctx: Context, interaction: Interaction) => promptPage(ctx, interaction) };
}
