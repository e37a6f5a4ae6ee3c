/**
 * WebAuthn during sign-in, for the browser script (views/assets/webauthn.js): on the login prompt a
 * passkey signs the person in without a password (discoverable credential, user verification required);
 * on the mfa prompt a registered security key or passkey is the second factor. Both answer JSON.
 */
import type { Context } from 'koa';
import type { WebAuthnService } from '../factors/webauthn.js';
import { parseCredentialJson, type AssertionPurpose } from '../factors/webauthn.js';
import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import { acrForAmr, combineAmr } from '../assurance/acr-amr.js';
import { AccessDeniedError, InvalidRequestError } from '../errors/errors.js';
import type { Interaction } from '../oidc/interaction.js';
import type { MfaStep } from './mfa-step.js';

export type WebAuthnStep = ReturnType<typeof createWebAuthnStep>;

export class CredentialRefusedError extends AccessDeniedError {
  constructor(detail: string) {
    super('That security key or passkey was not accepted. Use one registered to your account, or sign in another way.', detail, 401);
    this.withPageMessage('errors.passkeyRefused');
  }
}

export function createWebAuthnStep(deps: {
  webauthn: Pick<WebAuthnService, 'authenticationOptions' | 'verifyAuthentication'>;
  mfa: Pick<MfaStep, 'upgradedLogin'>;
  /** false for an account that may not sign in (disabled, or gone since the credential was registered) */
  maySignIn(accountId: string): Promise<boolean>;
  onResult(result: 'success' | 'failure'): void;
}) {
  const { webauthn } = deps;

  function purposeOf(interaction: Interaction): AssertionPurpose {
    if (interaction.prompt.name === 'login') return { purpose: 'passwordless', interactionUid: interaction.uid };
    if (interaction.prompt.name === 'mfa' && interaction.session?.accountId) {
      return { purpose: 'second-factor', accountId: interaction.session.accountId, interactionUid: interaction.uid };
    }
    throw new InvalidRequestError('This sign-in step does not use a security key.').withPageMessage('errors.noSecurityKeyStep');
  }

  return {
    options: (interaction: Interaction) => webauthn.authenticationOptions(purposeOf(interaction)),

    /** The interaction result for a verified assertion; throws CredentialRefusedError otherwise. */
    async verify(_ctx: Context, interaction: Interaction, form: Record<string, string>): Promise<Record<string, unknown>> {
      const purpose = purposeOf(interaction);
      // a malformed response is a WebAuthnInputError, answered by the error handler (errors/error-handler.ts)
      const response = parseCredentialJson<AuthenticationResponseJSON>(form.credential, 'authentication');
      const verdict = await webauthn.verifyAuthentication(response, purpose);
      if (!verdict.ok) {
        deps.onResult('failure');
        throw new CredentialRefusedError(verdict.detail);
      }
      // a disabled account's passkey is refused with the words of an unknown one
      if (!(await deps.maySignIn(verdict.accountId))) {
        deps.onResult('failure');
        throw new CredentialRefusedError('the account of this credential is disabled');
      }
      deps.onResult('success');
      if (purpose.purpose === 'second-factor') return deps.mfa.upgradedLogin(interaction, verdict.amr);
      const amr = combineAmr([], verdict.amr);
      return { login: { accountId: verdict.accountId, acr: acrForAmr(amr), amr, remember: true } };
    },
  };
}
