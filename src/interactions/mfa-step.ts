/**
 * The `mfa` prompt (oidc/policy.ts): after the password, a TOTP code, a recovery code or a security key;
 * an account that must use a second factor and has none enrols TOTP here first. It finishes with a
 * `login` result for the same account whose amr/acr record the added factor, so the session (and every
 * ID token from it) carries the stronger authentication. Wrong codes are throttled like passwords.
 */
import type { Context } from 'koa';
import type { ProviderHost } from '../oidc/provider-host.js';
import type { Renderer, Title } from '../http/render.js';
import type { FailureThrottle, ThrottledAttempt } from '../protection/failure-throttle.js';

type Attempt = Extract<ThrottledAttempt, { refused: false }>;
import type { AccountRecord } from '../../adapters/contract.js';
import type { TotpService } from '../factors/totp.js';
import type { RecoveryCodes } from '../factors/recovery-codes.js';
import type { AccountFactors } from '../factors/account-factors.js';
import { ACR, AMR, acrForAmr, acrRank, combineAmr, type MfaRequirement } from '../assurance/acr-amr.js';
import { InvalidRequestError, InteractionExpiredError, TooManyRequestsError } from '../errors/errors.js';
import type { Interaction } from '../oidc/interaction.js';

export type MfaStep = ReturnType<typeof createMfaStep>;

export type LoginResult = { login: { accountId: string; acr: string; amr: string[]; remember: boolean; ts?: number } };

const WRONG_CODE = { key: 'mfa.wrongCode' };
const WRONG_RECOVERY = { key: 'mfa.wrongRecovery' };

export function createMfaStep(deps: {
  providers: ProviderHost;
  render: Renderer;
  findAccount(id: string): Promise<AccountRecord | undefined>;
  totp: Pick<TotpService, 'startEnrolment' | 'confirmEnrolment' | 'verify'>;
  recoveryCodes: Pick<RecoveryCodes, 'use'>;
  factors: Pick<AccountFactors, 'overview' | 'issueRecoveryCodesIfNone'>;
  throttle: FailureThrottle;
  onResult(result: 'success' | 'failure' | 'throttled'): void;
}) {
  const { providers, render } = deps;

  async function accountOf(interaction: Interaction): Promise<AccountRecord> {
    const accountId = interaction.session?.accountId;
    const account = accountId ? await deps.findAccount(accountId) : undefined;
    if (!account) throw new InteractionExpiredError('mfa prompt without a signed-in account');
    return account;
  }

  const requirementOf = (interaction: Interaction) => interaction.prompt.details as unknown as MfaRequirement;
  const phishingResistantOnly = (interaction: Interaction) => acrRank(requirementOf(interaction).acr) >= acrRank(ACR.phishingResistant);

  async function page(ctx: Context, interaction: Interaction, error: Title | null = null) {
    const account = await accountOf(interaction);
    const overview = await deps.factors.overview(account.id);
    const client = await providers.current.Client.find(String(interaction.params.client_id));
    const strict = phishingResistantOnly(interaction);
    const methods = {
      totp: !strict && overview.totp === 'active',
      recovery: !strict && overview.recoveryCodesLeft > 0,
      webauthn: overview.credentials.length > 0,
    };
    const base = { uid: interaction.uid, client: { name: client?.clientName }, email: account.email, error };
    if (strict && !methods.webauthn) {
      await render(ctx, 'mfa', { title: { key: 'mfa.keyRequiredTitle' }, ...base, methods, unavailable: true });
    } else if (methods.totp || methods.webauthn) {
      await render(ctx, 'mfa', { title: { key: 'mfa.title' }, ...base, methods, unavailable: false });
    } else {
      // a second factor is required and the account has none it can use here: enrol an authenticator app
      const enrolment = await deps.totp.startEnrolment(account.id, account.email);
      if (!enrolment) throw new InvalidRequestError('Two-step verification could not be set up. Sign in again.').withPageMessage('errors.mfaSetupFailed');
      await render(ctx, 'mfa-enrol', { title: { key: 'mfa.enrolTitle' }, ...base, enrolment });
    }
  }

  /** The `login` result that upgrades the session: same account, same sign-in time, stronger amr/acr. */
  async function upgradedLogin(interaction: Interaction, added: string[]): Promise<LoginResult> {
    const accountId = String(interaction.session?.accountId);
    const amr = combineAmr(interaction.session?.amr, added);
    // the sign-in time stays the password's, so a relying party's max_age still measures the first factor too
    const session = interaction.session?.cookie ? await providers.current.Session.find(interaction.session.cookie) : undefined;
    const ts = (session as { loginTs?: number } | undefined)?.loginTs;
    const transient = (session as { transient?: boolean } | undefined)?.transient === true;
    return { login: { accountId, acr: acrForAmr(amr), amr, remember: !transient, ...(ts ? { ts } : {}) } };
  }

  /** Count first, then check: takes the attempt's point before the code is verified (429 over the limit). */
  async function beginAttempt(ctx: Context, accountId: string) {
    const attempt = await deps.throttle.begin(accountId, ctx.ip);
    if (attempt.refused) {
      deps.onResult('throttled');
      throw new TooManyRequestsError(attempt.retryAfter, 'Too many wrong codes. Wait a few minutes and try again.').withPageMessage('mfa.tooManyCodes');
    }
    return attempt;
  }

  async function refuse(ctx: Context, interaction: Interaction, attempt: Attempt, message: Title): Promise<undefined> {
    await attempt.settle('failed');
    deps.onResult('failure');
    await page(ctx, interaction, message);
    ctx.status = 401;
    return undefined;
  }

  return {
    show: (ctx: Context, interaction: Interaction) => page(ctx, interaction),

    upgradedLogin,

    /**
     * The result that finishes the prompt, or undefined when this handler answered itself (the page
     * again with an error, or the new recovery codes after an enrolment).
     */
    async submit(ctx: Context, interaction: Interaction, form: Record<string, string>): Promise<Record<string, unknown> | undefined> {
      const account = await accountOf(interaction);
      const method = form.method ?? '';
      if (method === 'unavailable') {
        // OpenID Connect Core §3.1.2.6 / Unmet Authentication Requirements 1.0: the requested acr cannot be met
        return { error: 'unmet_authentication_requirements', error_description: 'the requested authentication level cannot be met for this account' };
      }
      if (phishingResistantOnly(interaction)) throw new InvalidRequestError('This app requires a security key or passkey.').withPageMessage('errors.keyRequired');
      if (!['totp', 'recovery', 'enrol'].includes(method)) throw new InvalidRequestError('Choose a way to verify.').withPageMessage('errors.chooseMethod');
      const attempt = await beginAttempt(ctx, account.id);
      const code = (form.code ?? '').slice(0, 64);

      if (method === 'totp') {
        if (!(await deps.totp.verify(account.id, code))) return refuse(ctx, interaction, attempt, WRONG_CODE);
      } else if (method === 'recovery') {
        if (!(await deps.recoveryCodes.use(account.id, code))) return refuse(ctx, interaction, attempt, WRONG_RECOVERY);
      } else {
        if (!(await deps.totp.confirmEnrolment(account.id, code))) return refuse(ctx, interaction, attempt, WRONG_CODE);
        await attempt.settle('succeeded');
        deps.onResult('success');
        const result = await upgradedLogin(interaction, [AMR.otp]);
        const codes = await deps.factors.issueRecoveryCodesIfNone(account.id);
        const returnTo = await providers.current.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
        if (!codes) {
          ctx.status = 303;
          ctx.redirect(returnTo);
          return undefined;
        }
        await render(ctx, 'recovery-codes', { title: { key: 'mfa.recoveryCodesTitle' }, codes, continueUrl: returnTo, continueLabel: { key: 'common.continue' } });
        return undefined;
      }
      await attempt.settle('succeeded');
      deps.onResult('success');
      return upgradedLogin(interaction, [AMR.otp]);
    },
  };
}
