/** What the lifecycle pages share: their dependencies, the pending interaction, link problems, limits. */
import type { Context, Next } from 'koa';
import type { ProviderHost } from '../oidc/provider-host.js';
import type { Renderer } from '../app/render.js';
import type { AccountService } from '../accounts/accounts.js';
import type { Registration } from '../accounts/registration.js';
import type { EmailVerification } from '../accounts/email-verification.js';
import type { PasswordReset } from '../accounts/password-reset.js';
import type { PasswordPolicy } from '../accounts/password-policy.js';
import type { TokenState } from '../accounts/account-tokens.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { AccountMail } from '../mail/account-mail.js';
import type { Quota } from '../protection/lockout.js';
import { inWords } from '../protection/lockout.js';
import { TooManyRequestsError } from '../errors/errors.js';
import type { Interaction } from '../interactions/router.js';

export type LifecycleDeps = {
  issuer: string;
  secureCookies: boolean;
  registrationEnabled: boolean;
  termsUrl: string;
  interactionTtlSeconds: number;
  providers: ProviderHost;
  render: Renderer;
  csrf: (ctx: Context, next: Next) => Promise<void>;
  loadInteraction(ctx: Context): Promise<Interaction>;
  accounts: AccountService;
  policy: Pick<PasswordPolicy, 'minLength' | 'maxLength'>;
  registration: Registration;
  verification: EmailVerification;
  reset: PasswordReset;
  mail: Pick<AccountMail, 'passwordChanged'>;
  audit: Pick<AuditLog, 'record'>;
  limits: { registrationPerIp: Quota; emailPerIp: Quota };
};

/** An interaction a link was issued from, if it is still pending (for a "continue to the app" step). */
export async function pendingInteraction(providers: ProviderHost, uid: string | null | undefined) {
  if (!uid || !/^[A-Za-z0-9_-]{1,64}$/.test(uid)) return undefined;
  const interaction = await providers.current.Interaction.find(uid);
  if (!interaction) return undefined;
  const client = await providers.current.Client.find(String(interaction.params.client_id));
  return { uid, prompt: interaction.prompt.name, redirectUri: interaction.params.redirect_uri, clientName: client?.clientName ?? null };
}

/** Finishes the interaction step with `result` and redirects back to oidc-provider. */
export async function finishInteraction(providers: ProviderHost, ctx: Context, result: Record<string, unknown>, merge: boolean) {
  const redirectTo = await providers.current.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: merge });
  ctx.status = 303;
  ctx.redirect(redirectTo);
}

const PROBLEMS: Record<Exclude<TokenState, 'valid'>, { status: number; heading: string; text: string }> = {
  expired: { status: 410, heading: 'This link has expired', text: 'Links in our mails work for a limited time. Ask for a new one below.' },
  used: { status: 410, heading: 'This link has already been used', text: 'Each link works once. If you still need to, ask for a new one below.' },
  superseded: {
    status: 410,
    heading: 'A newer link was sent',
    text: 'Only the most recent link we mailed you works. Use the newest message in your inbox, or ask for a new link below.',
  },
  unknown: { status: 400, heading: 'This link is not valid', text: 'Check that you opened the whole link from the mail, or ask for a new one below.' },
};

/** The page for a link that does not work, saying why and what to do next. */
export async function renderLinkProblem(render: Renderer, ctx: Context, kind: 'verify' | 'reset', state: Exclude<TokenState, 'valid'>) {
  const problem = PROBLEMS[state];
  await render(ctx, 'link-problem', {
    title: problem.heading,
    heading: problem.heading,
    message: problem.text,
    state,
    next: kind === 'reset'
      ? { href: '/password/forgot', label: 'Ask for a new password reset link' }
      : { href: null, label: 'Sign in to the app again: it offers to send a new verification link.' },
  });
  ctx.status = problem.status;
}

/** Takes one request from each quota; over any of them, HTTP 429 with Retry-After and a friendly page. */
export async function takeQuotas(what: string, ...takes: Promise<number>[]): Promise<void> {
  const wait = Math.max(...(await Promise.all(takes)));
  if (wait > 0) throw new TooManyRequestsError(wait, `Too many ${what} in a short time. Try again in ${inWords(wait)}.`);
}

export const field = (form: Record<string, string>, name: string, max = 1024) => (form[name] ?? '').slice(0, max);
