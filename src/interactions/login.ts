/**
 * The login prompt: email + password, throttled per account and per IP with temporary lockouts that back
 * off exponentially. A wrong password and an unknown email get the same answer in the same time. Every
 * attempt is audited with its reason (which the person is not told). With federation configured, an
 * email of an IdP's domain goes to that IdP, and passwords are checked locally, then against directories.
 */
import type { Context } from 'koa';
import type { ProviderHost } from '../oidc/provider-host.js';
import type { Renderer, Title } from '../http/render.js';
import { isEmailAddress, normaliseEmail, type AccountService } from '../accounts/accounts.js';
import { accountSubject, normaliseLogin, unknownLoginSubject, type LoginThrottle } from '../accounts/login-throttle.js';
import type { AuditLog } from '../audit/audit-log.js';
import { inWords, waitIn } from '../protection/lockout.js';
import { TooManyRequestsError } from '../errors/errors.js';
import { ACR, AMR } from '../assurance/acr-amr.js';
import type { Interaction } from '../oidc/interaction.js';
import type { AccountRecord } from '../../adapters/contract.js';
import type { PasswordCheck } from '../federation/ldap/directory-login.js';

/** Upstream federation as the login page sees it (src/federation; wired in app/build-federation.ts). */
export type LoginFederation = {
  /** a "Continue with ..." button per IdP */
  buttons: { id: string; name: string }[];
  /** where the login page's forms may lead (the IdPs' SSO origins), for CSP form-action */
  formActionOrigins: string[];
  /** home-realm discovery: the IdP that owns this email's domain, if any */
  idpFor(login: string): string | undefined;
  startSso(ctx: Context, interaction: Interaction, idpId: string): Promise<void>;
  /** the counter of a directory person this login finds (`ldap:<directory>:<dn>`), without checking any password */
  subjectOf(login: string): Promise<string | undefined>;
  /** local accounts, then directories (see federation/ldap/directory-login.ts) */
  checkPassword(login: string, password: string, local: () => Promise<AccountRecord | undefined>): Promise<PasswordCheck>;
};

export type LoginStep = ReturnType<typeof createLoginStep>;

const WRONG = { key: 'login.wrong' };

// People sometimes type their password into the email field: only something shaped like an address is audited.
const typedEmail = (email: string) => ({ email: isEmailAddress(normaliseEmail(email)) ? normaliseEmail(email) : '(not an email address)' });

export function createLoginStep(deps: {
  providers: ProviderHost;
  render: Renderer;
  accounts: Pick<AccountService, 'checkPassword' | 'findByEmail'>;
  throttle: LoginThrottle;
  onResult(result: 'success' | 'failure' | 'throttled'): void;
  audit: Pick<AuditLog, 'record'>;
  /** links under the form (create an account, forgot your password), by interaction */
  links?(interaction: Interaction): Promise<{ register?: string | null; forgot?: string | null }>;
  federation?: LoginFederation;
}) {
  const { render } = deps;

  async function clientName(interaction: Interaction): Promise<string | undefined> {
    const client = await deps.providers.current.Client.find(String(interaction.params.client_id));
    return client?.clientName;
  }

  async function page(ctx: Context, interaction: Interaction, locals: { email?: string; error?: Title | null } = {}) {
    for (const origin of deps.federation?.formActionOrigins ?? []) (ctx.state.formActionOrigins as Set<string>).add(origin);
    await render(ctx, 'login', {
      title: { key: 'login.title' },
      uid: interaction.uid,
      client: { name: await clientName(interaction) },
      email: locals.email ?? (typeof interaction.params.login_hint === 'string' ? interaction.params.login_hint : ''),
      error: locals.error ?? null,
      links: (await deps.links?.(interaction)) ?? {},
      federation: { buttons: deps.federation?.buttons ?? [] },
    });
  }

  /** The counter a login's attempts go to: the account, else the directory entry, else the login itself. */
  async function subjectOf(login: string): Promise<string> {
    if (!login) return unknownLoginSubject(login);
    const account = await deps.accounts.findByEmail(login);
    if (account) return accountSubject(account.id);
    return (await deps.federation?.subjectOf(login)) ?? unknownLoginSubject(login);
  }

  return {
    show: (ctx: Context, interaction: Interaction) => page(ctx, interaction),

    /**
     * The interaction result when the login succeeds, with a notice the person must read first (a directory
     * email another account holds, emailConflict "keep"); otherwise renders the page again and returns undefined.
     */
    async submit(ctx: Context, interaction: Interaction, form: Record<string, string>) {
      const typed = (form.email ?? '').slice(0, 254);
      const password = (form.password ?? '').slice(0, 1024);
      const clientId = String(interaction.params.client_id);
      // whitespace or control characters inside a login are refused before any lookup (login-throttle.ts)
      const login = normaliseLogin(typed);
      // home-realm discovery: an email of an IdP's domain signs in at that IdP (the password stays here, unused)
      const idp = login ? deps.federation?.idpFor(login) : undefined;
      if (idp) {
        await deps.federation!.startSso(ctx, interaction, idp);
        return undefined;
      }
      const email = login ?? '';

      // count first, then check: the point is taken under the person's own counter before any secret is verified
      const subject = await subjectOf(login ?? typed.trim().toLowerCase());
      const attempt = await deps.throttle.begin(subject, ctx.ip);
      if (attempt.refused) {
        deps.onResult('throttled');
        await deps.audit.record({ type: 'login.failure', result: 'failure', clientId, reason: 'locked_out', details: typedEmail(email) }, ctx);
        throw new TooManyRequestsError(attempt.retryAfter, `Too many failed sign-in attempts. Try again in ${inWords(attempt.retryAfter)}.`)
          .withPageMessage('login.tooMany', waitIn(attempt.retryAfter));
      }

      let accountId: string | null = null;
      let reason = 'wrong_password';
      const local = async (): Promise<AccountRecord | undefined> => {
        if (!login || !password) {
          reason = login ? 'missing_input' : 'malformed_login';
          return undefined;
        }
        const checked = await deps.accounts.checkPassword(email, password);
        accountId = checked.accountId ?? null;
        if (checked.reason) reason = checked.reason;
        return checked.account;
      };
      const check: PasswordCheck = deps.federation
        ? await deps.federation.checkPassword(email, password, local)
        : await local().then((a) => (a ? { status: 'ok', account: a } : { status: 'invalid' }));

      if (check.status !== 'ok') {
        deps.onResult('failure');
        if (check.status === 'invalid') {
          const locked = await attempt.settle('failed');
          await deps.audit.record({ type: 'login.failure', result: 'failure', accountId, clientId, reason, details: typedEmail(email) }, ctx);
          if (locked.subjectLockedFor) {
            await deps.audit.record({ type: 'lockout', result: 'failure', accountId, clientId, reason: 'login_failures', details: { ...typedEmail(email), seconds: locked.subjectLockedFor } }, ctx);
          }
          if (locked.ipLockedFor) {
            await deps.audit.record({ type: 'lockout', result: 'failure', clientId, reason: 'login_failures_from_ip', details: { seconds: locked.ipLockedFor } }, ctx);
          }
        } else {
          // the directory did not verify anything wrong: the attempt's points go back
          await attempt.settle('succeeded');
          await deps.audit.record({ type: 'login.failure', result: 'failure', clientId, reason: `directory_${check.status}`, details: typedEmail(email) }, ctx);
        }
        await page(ctx, interaction, { email, error: check.status === 'invalid' ? WRONG : check.message });
        ctx.status = check.status === 'invalid' ? 401 : check.status === 'unavailable' ? 503 : 403;
        return undefined;
      }
      const { account } = check;
      await attempt.settle('succeeded');
      deps.onResult('success');
      await deps.audit.record({ type: 'login.success', accountId: account.id, clientId, details: { method: 'password' } }, ctx);
      const result = { login: { accountId: account.id, acr: ACR.password, amr: [AMR.password], remember: true } };
      return check.notice ? { result, notice: check.notice } : { result };
    },
  };
}
