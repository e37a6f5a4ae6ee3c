/**
 * The login prompt: email + password, throttled per account and per IP with temporary lockouts that back
 * off exponentially. A wrong password and an unknown email get the same answer in the same time. Every
 * attempt is audited with its reason (which the person is not told).
 */
import type { Context } from 'koa';
import type { ProviderHost } from '../oidc/provider-host.js';
import type { Renderer } from '../app/render.js';
import { isEmailAddress, normaliseEmail, type AccountService } from '../accounts/accounts.js';
import type { LoginThrottle } from '../accounts/login-throttle.js';
import type { AuditLog } from '../audit/audit-log.js';
import { inWords } from '../protection/lockout.js';
import { TooManyRequestsError } from '../errors/errors.js';
import { ACR, AMR } from '../oidc/policy.js';
import type { Interaction } from './router.js';

export type LoginStep = ReturnType<typeof createLoginStep>;

const WRONG = 'The email or password is incorrect.';

// People sometimes type their password into the email field: only something shaped like an address is audited.
const typedEmail = (email: string) => ({ email: isEmailAddress(normaliseEmail(email)) ? normaliseEmail(email) : '(not an email address)' });

export function createLoginStep(deps: {
  providers: ProviderHost;
  render: Renderer;
  accounts: Pick<AccountService, 'checkPassword'>;
  throttle: LoginThrottle;
  onResult(result: 'success' | 'failure' | 'throttled'): void;
  audit: Pick<AuditLog, 'record'>;
  /** links under the form (create an account, forgot your password), by interaction */
  links?(interaction: Interaction): Promise<{ register?: string | null; forgot?: string | null }>;
}) {
  const { render } = deps;

  async function clientName(interaction: Interaction): Promise<string | undefined> {
    const client = await deps.providers.current.Client.find(String(interaction.params.client_id));
    return client?.clientName;
  }

  async function page(ctx: Context, interaction: Interaction, locals: { email?: string; error?: string | null } = {}) {
    await render(ctx, 'login', {
      title: 'Sign in',
      uid: interaction.uid,
      client: { name: await clientName(interaction) },
      email: locals.email ?? (typeof interaction.params.login_hint === 'string' ? interaction.params.login_hint : ''),
      error: locals.error ?? null,
      links: (await deps.links?.(interaction)) ?? {},
    });
  }

  return {
    show: (ctx: Context, interaction: Interaction) => page(ctx, interaction),

    /** The interaction result when the login succeeds; otherwise renders the page again and returns undefined. */
    async submit(ctx: Context, interaction: Interaction, form: Record<string, string>) {
      const email = (form.email ?? '').slice(0, 254);
      const password = (form.password ?? '').slice(0, 1024);
      const clientId = String(interaction.params.client_id);
      const retryAfter = await deps.throttle.retryAfter(email, ctx.ip);
      if (retryAfter > 0) {
        deps.onResult('throttled');
        await deps.audit.record({ type: 'login.failure', result: 'failure', clientId, reason: 'locked_out', details: typedEmail(email) }, ctx);
        throw new TooManyRequestsError(retryAfter, `Too many failed sign-in attempts. Try again in ${inWords(retryAfter)}.`);
      }
      const checked: Awaited<ReturnType<AccountService['checkPassword']>> | { reason: 'missing_input'; account?: undefined; accountId?: undefined } =
        email && password ? await deps.accounts.checkPassword(email, password) : { reason: 'missing_input' };
      const account = checked.account;
      if (!account) {
        const locked = await deps.throttle.recordFailure(email, ctx.ip);
        deps.onResult('failure');
        const accountId = checked.accountId ?? null;
        await deps.audit.record({ type: 'login.failure', result: 'failure', accountId, clientId, reason: checked.reason ?? 'wrong_password', details: typedEmail(email) }, ctx);
        if (locked.subjectLockedFor) {
          await deps.audit.record({ type: 'lockout', result: 'failure', accountId, clientId, reason: 'login_failures', details: { ...typedEmail(email), seconds: locked.subjectLockedFor } }, ctx);
        }
        if (locked.ipLockedFor) {
          await deps.audit.record({ type: 'lockout', result: 'failure', clientId, reason: 'login_failures_from_ip', details: { seconds: locked.ipLockedFor } }, ctx);
        }
        await page(ctx, interaction, { email, error: WRONG });
        ctx.status = 401;
        return undefined;
      }
      await deps.throttle.recordSuccess(email);
      deps.onResult('success');
      await deps.audit.record({ type: 'login.success', accountId: account.id, clientId, details: { method: 'password' } }, ctx);
      return { login: { accountId: account.id, acr: ACR.password, amr: [AMR.password], remember: true } };
    },
  };
}
