/**
 * Password pages: "forgot your password" (/password/forgot), the reset link's page (/password/reset), and
 * the `update_password` prompt's page when a password has expired (PASSWORD_MAX_AGE). Every refused
 * password is explained in plain words by the policy.
 */
import type Router from '@koa/router';
import type { Context } from 'koa';
import { isEmailAddress, normaliseEmail } from '../accounts/accounts.js';
import { sourceOf } from '../audit/audit-log.js';
import { InvalidRequestError, StepCompleteError } from '../errors/errors.js';
import type { Interaction } from '../oidc/interaction.js';
import { field } from '../http/form-field.js';
import { finishInteraction, pendingInteraction } from '../oidc/interaction.js';
import { renderLinkProblem } from './link-problem.js';
import { takeQuotas } from '../protection/lockout.js';
import type { LifecycleDeps } from './lifecycle-deps.js';
import type { Title } from '../http/render.js';

const MISMATCH = { key: 'lifecycle.password.mismatch' };
const ENTER_EMAIL = { key: 'lifecycle.enterEmail' };
/** A refused password, in the page's language (passwords.json; the refusal's message is the English). */
const refusalText = (r: { code: string; values?: Record<string, number> }): Title => ({ key: `passwords.${r.code}`, values: r.values ?? {} });

export function addPasswordRoutes(router: Router, deps: LifecycleDeps) {
  const { providers, render } = deps;
  const rules = () => ({ minLength: deps.policy.minLength, maxLength: deps.policy.maxLength });
  const interactionParam = (value: unknown) => (typeof value === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(value) ? value : '');

  router.get('/password/forgot', deps.csrf, async (ctx) => {
    await render(ctx, 'forgot-password', { title: { key: 'lifecycle.forgot.title' }, email: '', interaction: interactionParam(ctx.query.interaction) });
  });

  router.post('/password/forgot', deps.csrf, async (ctx) => {
    const f = ctx.state.form as Record<string, string>;
    const email = normaliseEmail(field(f, 'email', 254));
    const interaction = interactionParam(f.interaction);
    await takeQuotas('password reset requests', deps.limits.emailPerIp.take(ctx.ip));
    if (!isEmailAddress(email)) {
      await render(ctx, 'forgot-password', { title: { key: 'lifecycle.forgot.title' }, email, interaction, error: ENTER_EMAIL });
      ctx.status = 400;
      return;
    }
    // The per-address limit counts mails sent (password-reset.ts): past it the answer is this same page,
    // with no mail, so it says nothing about accounts.
    await deps.reset.request(email, { interactionUid: interaction || null, locale: ctx.state.locale as string | undefined }, sourceOf(ctx));
    await render(ctx, 'forgot-password-sent', { title: { key: 'lifecycle.checkInbox' }, email });
  });

  const resetForm = (ctx: Context, token: string, email: string, error: Title | null = null) =>
    render(ctx, 'reset-password', { title: { key: 'lifecycle.newPassword.title' }, token, email, error, ...rules() });

  router.get('/password/reset', deps.csrf, async (ctx) => {
    const token = String(ctx.query.token ?? '');
    const check = await deps.reset.inspect(token);
    if (check.state !== 'valid') return renderLinkProblem(render, ctx, 'reset', check.state);
    await resetForm(ctx, token, check.record?.email ?? '');
  });

  router.post('/password/reset', deps.csrf, async (ctx) => {
    const f = ctx.state.form as Record<string, string>;
    const token = field(f, 'token', 100);
    const password = field(f, 'password');
    if (password !== field(f, 'confirm')) {
      const check = await deps.reset.inspect(token);
      if (check.state !== 'valid') return renderLinkProblem(render, ctx, 'reset', check.state);
      await resetForm(ctx, token, check.record?.email ?? '', MISMATCH);
      ctx.status = 400;
      return;
    }
    const outcome = await deps.reset.complete(token, password, sourceOf(ctx));
    if (outcome.state === 'refused') {
      await resetForm(ctx, token, outcome.account.email, refusalText(outcome.refusal));
      ctx.status = 400;
      return;
    }
    if (outcome.state !== 'done') return renderLinkProblem(render, ctx, 'reset', outcome.state);
    const pending = await pendingInteraction(providers, outcome.interactionUid);
    await render(ctx, 'reset-password-done', {
      title: { key: 'lifecycle.resetDone.title' },
      continueUrl: pending?.prompt === 'login' ? `/interaction/${pending.uid}` : null,
      clientName: pending?.clientName ?? null,
    });
  });

  // the update_password prompt (expired password)
  async function promptPage(ctx: Context, interaction: Interaction, error: Title | null = null) {
    const account = await deps.accounts.findById(String(interaction.session?.accountId));
    await render(ctx, 'update-password', { title: { key: 'lifecycle.newPassword.title' }, uid: interaction.uid, email: account?.email ?? '', error, ...rules() });
  }

  router.post('/interaction/:uid/update-password', deps.csrf, async (ctx) => {
    const interaction = await deps.loadInteraction(ctx);
    if (interaction.prompt.name !== 'update_password') throw new StepCompleteError();
    const account = await deps.accounts.findById(String(interaction.session?.accountId));
    if (!account) throw new StepCompleteError('update_password prompt without an account');
    const f = ctx.state.form as Record<string, string>;
    const password = field(f, 'password');
    const refusal = password !== field(f, 'confirm') ? { code: 'mismatch' } : await deps.accounts.passwordRefusal(account, password);
    if (refusal) {
      await deps.audit.record({ type: 'password.changed', result: 'failure', accountId: account.id, reason: `password_${refusal.code}`, details: { why: 'expired' } }, ctx);
      await promptPage(ctx, interaction, refusal.code === 'mismatch' ? MISMATCH : refusalText(refusal));
      ctx.status = 400;
      return;
    }
    await deps.accounts.setPassword(account, password, { checked: true }, { event: { type: 'password.changed', accountId: account.id, details: { why: 'expired' } }, from: ctx });
    deps.mail.passwordChanged(account, 'expired', `${deps.issuer}/password/forgot`);
    await finishInteraction(providers, ctx, {}, true);
  });

  return { updatePasswordPrompt: (ctx: Context, interaction: Interaction) => promptPage(ctx, interaction) };
}
