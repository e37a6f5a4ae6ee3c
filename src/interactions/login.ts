/**
 * The login prompt: email + password, throttled per account and per IP. A wrong password and an unknown
 * email get the same answer in the same time.
 */
import type { Context } from 'koa';
import type { ProviderHost } from '../oidc/provider-host.js';
import type { Renderer } from '../app/render.js';
import type { AccountService } from '../accounts/accounts.js';
import type { LoginThrottle } from '../accounts/login-throttle.js';
import { TooManyRequestsError } from '../errors/errors.js';
import { ACR, AMR } from '../oidc/policy.js';
import type { Interaction } from './router.js';

export type LoginStep = ReturnType<typeof createLoginStep>;

const WRONG = 'The email or password is incorrect.';

export function createLoginStep(deps: {
  providers: ProviderHost;
  render: Renderer;
  accounts: Pick<AccountService, 'authenticate'>;
  throttle: LoginThrottle;
  onResult(result: 'success' | 'failure' | 'throttled'): void;
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
    });
  }

  return {
    show: (ctx: Context, interaction: Interaction) => page(ctx, interaction),

    /** The interaction result when the login succeeds; otherwise renders the page again and returns undefined. */
    async submit(ctx: Context, interaction: Interaction, form: Record<string, string>) {
      const email = (form.email ?? '').slice(0, 254);
      const password = (form.password ?? '').slice(0, 1024);
      const retryAfter = await deps.throttle.retryAfter(email, ctx.ip);
      if (retryAfter > 0) {
        deps.onResult('throttled');
        throw new TooManyRequestsError(retryAfter, 'Too many failed sign-in attempts. Wait a few minutes and try again.');
      }
      const account = email && password ? await deps.accounts.authenticate(email, password) : undefined;
      if (!account) {
        await deps.throttle.recordFailure(email, ctx.ip);
        deps.onResult('failure');
        await page(ctx, interaction, { email, error: WRONG });
        ctx.status = 401;
        return undefined;
      }
      await deps.throttle.recordSuccess(email);
      deps.onResult('success');
      return { login: { accountId: account.id, acr: ACR.password, amr: [AMR.password], remember: true } };
    },
  };
}
