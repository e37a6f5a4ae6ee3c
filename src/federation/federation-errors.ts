/**
 * Why a federated sign-in was refused, in words for the person. The detail (which check failed) goes to
 * the log only: an attacker probing the SAML endpoint learns nothing from the page.
 */
import { AccessDeniedError } from '../errors/errors.js';

export const refusalMessages = {
  unavailable: (name: string) => `${name} cannot be reached right now, so your password could not be checked. Try again in a few minutes.`,
  emailTaken: (name: string) =>
    `An account with this email address already exists here and is not linked to ${name}. Sign in the way you usually do, or ask an administrator to link the accounts.`,
  emailNotAllowed: (name: string) =>
    `${name} signed you in with an email address it does not manage here, so this sign-in cannot be used. Sign in the way you usually do, or ask an administrator.`,
  noEmail: (name: string) => `${name} did not share an email address for your account, and signing in here needs one. Ask your administrator.`,
  /** a disabled account: the same words whatever the reason, so the page says no more than "no" */
  cannotSignIn: (_name: string) => 'This account cannot sign in here. Ask your administrator.',
  rejected: (name: string) => `The sign-in answer from ${name} could not be accepted. Go back to the app and sign in again.`,
};

/** A federated sign-in that cannot complete: shown on the error page, never with a stack trace. */
export class FederationRefusedError extends AccessDeniedError {
  constructor(publicMessage: string, detail?: string) {
    super(publicMessage, detail, 400);
  }
}
