/**
 * Registration pages: standalone at /register, and inside a sign-in at /interaction/:uid/register (linked
 * from the login page), where the person continues to the app once the address is verified. The browser
 * that registered keeps a signed cookie naming the interaction and the new account; "Continue" signs in
 * that account only when its address is verified and the interaction is the one this browser holds.
 * A taken address gets the same page and a cookie of the same shape (naming no account).
 */
import { randomUUID } from 'node:crypto';
import type Router from '@koa/router';
import type { Context } from 'koa';
import { InvalidAccountInput, isEmailAddress, normaliseEmail } from '../accounts/accounts.js';
import { nameRefusalCode, RegistrationDomainRefused } from '../accounts/registration.js';
import { PasswordRefused } from '../accounts/accounts.js';
import type { Title } from '../http/render.js';
import { sourceOf } from '../audit/audit-log.js';
import { InvalidRequestError, NotFoundError, StepCompleteError } from '../errors/errors.js';
import { ACR, AMR } from '../assurance/acr-amr.js';
import type { Interaction } from '../oidc/interaction.js';
import { SELF_REGISTRATION, clientFlag } from './client-metadata.js';
import { field } from '../http/form-field.js';
import { finishInteraction } from '../oidc/interaction.js';
import { takeQuotas } from '../protection/lockout.js';
import { basePathOf, cookiePath } from '../http/base-path.js';
import type { LifecycleDeps } from './lifecycle-deps.js';

const COOKIE = 'gatehouse.registration';

export function registrationAllowed(deps: Pick<LifecycleDeps, 'registrationEnabled'>, client: object | undefined): boolean {
  return clientFlag(client, SELF_REGISTRATION) ?? deps.registrationEnabled;
}

export function addRegistrationRoutes(router: Router, deps: LifecycleDeps) {
  const { providers, render } = deps;
  const pendingPath = cookiePath(basePathOf(deps.issuer), '/interaction');

  async function clientOf(interaction: Interaction) {
    return providers.current.Client.find(String(interaction.params.client_id));
  }

  async function loginInteraction(ctx: Context) {
    const interaction = await deps.loadInteraction(ctx);
    if (interaction.prompt.name !== 'login') throw new StepCompleteError();
    const client = await clientOf(interaction);
    if (!registrationAllowed(deps, client)) throw new NotFoundError();
    return { interaction, clientName: client?.clientName ?? null };
  }

  const form = (ctx: Context, locals: { action: string; signInUrl: string | null; clientName: string | null; values?: Record<string, string>; error?: Title | null }) =>
    render(ctx, 'register', {
      title: { key: 'lifecycle.register.title' },
      action: locals.action,
      signInUrl: locals.signInUrl,
      clientName: locals.clientName,
      values: { name: '', email: '', ...locals.values },
      termsUrl: deps.termsUrl || null,
      minLength: deps.policy.minLength,
      error: locals.error ?? null,
    });

  /** Validates and registers; renders the form again for what the person must fix. */
  async function submit(ctx: Context, page: { action: string; signInUrl: string | null; clientName: string | null; interactionUid: string | null }) {
    const f = ctx.state.form as Record<string, string>;
    const values = { name: field(f, 'name', 100).trim(), email: normaliseEmail(field(f, 'email', 254)) };
    const password = field(f, 'password');
    const again = async (error: Title) => {
      await form(ctx, { ...page, values, error });
      ctx.status = 400;
    };
    await takeQuotas('registrations', deps.limits.registrationPerIp.take(ctx.ip));
    if (!isEmailAddress(values.email)) return again({ key: 'lifecycle.enterEmail' });
    const badName = nameRefusalCode(values.name);
    if (badName) return again({ key: `lifecycle.name.${badName}` });
    if (deps.termsUrl && f.terms !== 'accepted') return again({ key: 'lifecycle.register.acceptTerms' });
    let account;
    try {
      account = await deps.registration.register({ ...values, name: values.name || undefined, password, interactionUid: page.interactionUid, locale: ctx.state.locale as string | undefined }, sourceOf(ctx));
    } catch (err) {
      if (err instanceof PasswordRefused) return again({ key: `passwords.${err.refusal.code}`, values: err.refusal.values });
      if (err instanceof RegistrationDomainRefused) return again({ key: 'lifecycle.register.domains', values: { domains: err.domains.join(', ') } });
      if (err instanceof InvalidAccountInput) return again(err.publicMessage === undefined ? { key: 'lifecycle.checkDetails' } : { key: 'lifecycle.checkDetails', en: err.publicMessage });
      throw err;
    }
    if (page.interactionUid) {
      ctx.cookies.set(COOKIE, `${page.interactionUid}.${account?.id ?? randomUUID()}`, {
        signed: true, httpOnly: true, sameSite: 'lax', secure: deps.secureCookies, path: pendingPath, maxAge: deps.interactionTtlSeconds * 1000, overwrite: true,
      });
    }
    await render(ctx, 'register-sent', {
      title: { key: 'lifecycle.checkInbox' },
      email: values.email,
      continueAction: page.interactionUid ? `/interaction/${page.interactionUid}/register/continue` : null,
      clientName: page.clientName,
      notice: null,
    });
  }

  router.get('/register', deps.csrf, async (ctx) => {
    if (!deps.registrationEnabled) throw new NotFoundError();
    await form(ctx, { action: '/register', signInUrl: null, clientName: null });
  });

  router.post('/register', deps.csrf, async (ctx) => {
    if (!deps.registrationEnabled) throw new NotFoundError();
    await submit(ctx, { action: '/register', signInUrl: null, clientName: null, interactionUid: null });
  });

  router.get('/interaction/:uid/register', deps.csrf, async (ctx) => {
    const { interaction, clientName } = await loginInteraction(ctx);
    await form(ctx, { action: `/interaction/${interaction.uid}/register`, signInUrl: `/interaction/${interaction.uid}`, clientName });
  });

  router.post('/interaction/:uid/register', deps.csrf, async (ctx) => {
    const { interaction, clientName } = await loginInteraction(ctx);
    const uid = interaction.uid;
    await submit(ctx, { action: `/interaction/${uid}/register`, signInUrl: `/interaction/${uid}`, clientName, interactionUid: uid });
  });

  /** After verifying: signs in the account this browser registered, in the interaction it registered from. */
  router.post('/interaction/:uid/register/continue', deps.csrf, async (ctx) => {
    const { interaction, clientName } = await loginInteraction(ctx);
    const [uid, accountId] = (ctx.cookies.get(COOKIE, { signed: true }) ?? '').split('.');
    const account = uid === interaction.uid && accountId ? await deps.accounts.findById(accountId) : undefined;
    if (!account?.emailVerified) {
      await render(ctx, 'register-sent', {
        title: { key: 'lifecycle.checkInbox' },
        email: null,
        continueAction: `/interaction/${interaction.uid}/register/continue`,
        clientName,
        notice: { key: 'lifecycle.notVerifiedYet' },
      });
      ctx.status = 400;
      return;
    }
    ctx.cookies.set(COOKIE, null, { path: pendingPath, overwrite: true });
    await deps.audit.record({ type: 'login.success', accountId: account.id, clientId: String(interaction.params.client_id), details: { via: 'registration' } }, ctx);
    await finishInteraction(providers, ctx, { login: { accountId: account.id, acr: ACR.password, amr: [AMR.password], remember: true } }, false);
  });
}
