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
import type { AccountRecord } from '../../adapters/contract.js';
import type { PasswordCheck } from '../federation/ldap/directory-login.js';

/** Upstream federation as the login page sees it (src/federation; wired in context.ts). */
export type LoginFederation = {
  /** a "Continue with ..." button per IdP */
  buttons: { id: string; name: string }[];
  /** where the login page's forms may lead (the IdPs' SSO origins), for CSP form-action */
  formActionOrigins: string[];
  /** home-realm discovery: the IdP that owns this email's domain, if any */
  idpFor(login: string): string | undefined;
  startSso(ctx: Context, interaction: Interaction, idpId: string): Promise<void>;
  /** local accounts, then directories (see federation/ldap/directory-login.ts) */
  checkPassword(login: string, password: string, local: () => Promise<AccountRecord | undefined>): Promise<PasswordCheck>;
};

export type LoginStep = ReturnType<typeof createLoginStep>;

const WRONG = 'The email or password is incorrect.';

export function createLoginStep(deps: {
  providers: ProviderHost;
  render: Renderer;
  accounts: Pick<AccountService, 'authenticate'>;
  throttle: LoginThrottle;
  onResult(result: 'success' | 'failure' | 'throttled'): void;
  federation?: LoginFederation;
}) {
  const { render } = deps;

  async function clientName(interaction: Interaction): Promise<string | undefined> {
    const client = await deps.providers.current.Client.find(String(interaction.params.client_id));
    return client?.clientName;
  }

  async function page(ctx: Context, interaction: Interaction, locals: { email?: string; error?: string | null } = {}) {
    for (const origin of deps.federation?.formActionOrigins ?? []) (ctx.state.formActionOrigins as Set<string>).add(origin);
    await render(ctx, 'login', {
      title: 'Sign in',
      uid: interaction.uid,
      client: { name: await clientName(interaction) },
      email: locals.email ?? (typeof interaction.params.login_hint === 'string' ? interaction.params.login_hint : ''),
      error: locals.error ?? null,
      federation: { buttons: deps.federation?.buttons ?? [] },
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
      // home-realm discovery: an email of an IdP's domain signs in at that IdP (the password stays here, unused)
      const idp = deps.federation?.idpFor(email);
      if (idp) {
        await deps.federation!.startSso(ctx, interaction, idp);
        return undefined;
      }
      const local = async () => (email && password ? deps.accounts.authenticate(email, password) : undefined);
      const check: PasswordCheck = deps.federation
        ? await deps.federation.checkPassword(email, password, local)
        : await local().then((a) => (a ? { status: 'ok', account: a } : { status: 'invalid' }));
      if (check.status !== 'ok') {
        if (check.status === 'invalid') await deps.throttle.recordFailure(email, ctx.ip);
        deps.onResult('failure');
        await page(ctx, interaction, { email, error: check.status === 'invalid' ? WRONG : check.message });
        ctx.status = check.status === 'invalid' ? 401 : check.status === 'unavailable' ? 503 : 403;
        return undefined;
      }
      const { account } = check;
      await deps.throttle.recordSuccess(email);
      deps.onResult('success');
      return { login: { accountId: account.id, acr: ACR.password, amr: [AMR.password], remember: true } };
    },
  };
}
