/**
 * Why a federated sign-in was refused, in words for the person: for a SAML response, its reason category
 * (so that a person, or the administrator they call, knows where to look). The detail (which check failed)
 * goes to the log and the audit event only.
 */
import { AccessDeniedError } from '../errors/errors.js';
import type { SamlRefusalCategory } from './saml/saml-xml.js';

/**
 * Words for the person: `text` in English (the log, JSON answers), and the message key with its values
 * that pages show in the person's language (views/locales/<locale>/federated.json).
 */
export type Refusal = { text: string; key: string; values: Record<string, string> };

const refusal = (key: string, values: Record<string, string>, text: string): Refusal => ({ key: `federated.refusal.${key}`, values, text });
const again = (category: SamlRefusalCategory) => (category === 'replay' || category === 'expired' ? 'Go back to the app and sign in again.' : 'Try again; if it happens again, tell your administrator what this page says.');

export const refusalMessages = {
  unavailableUpstream: (name: string) => refusal('unavailableUpstream', { idp: name }, `${name} cannot be reached right now. Try again in a few minutes, or sign in another way.`),
  unavailable: (name: string) => refusal('unavailable', { idp: name }, `${name} cannot be reached right now, so your password could not be checked. Try again in a few minutes.`),
  emailTaken: (name: string) =>
    refusal('emailTaken', { idp: name }, `An account with this email address already exists here and is not linked to ${name}. Sign in the way you usually do, or ask an administrator to link the accounts.`),
  emailNotAllowed: (name: string) =>
    refusal('emailNotAllowed', { idp: name }, `${name} signed you in with an email address it does not manage here, so this sign-in cannot be used. Sign in the way you usually do, or ask an administrator.`),
  emailConflict: (name: string) =>
    refusal('emailConflict', { idp: name }, `${name} now gives your account an email address that another account here already uses, so this sign-in cannot be used. Ask an administrator to sort out the two accounts.`),
  /** shown before continuing, when the rule is "keep" (the person may not know their address here is stale) */
  emailKept: (name: string, kept: string, asserted: string) =>
    refusal('emailKept', { idp: name, kept, asserted }, `${name} gave your account the email address ${asserted}, which another account here already uses. Your account keeps its email address ${kept}. If that is wrong, ask an administrator.`),
  noEmail: (name: string) => refusal('noEmail', { idp: name }, `${name} did not share an email address for your account, and signing in here needs one. Ask your administrator.`),
  /** a disabled account: the same words whatever the reason, so the page says no more than "no" */
  cannotSignIn: (_name: string) => refusal('cannotSignIn', {}, 'This account cannot sign in here. Ask your administrator.'),
  rejected: (name: string, category: SamlRefusalCategory = 'malformed') =>
    refusal('rejected', { idp: name, category }, `The sign-in answer from ${name} could not be accepted: ${refusalCategories[category]}. ${again(category)}`),
  /** an OpenID Connect / OAuth 2.0 upstream's answer refused (federation/oidc) */
  upstreamRejected: (name: string, category: SamlRefusalCategory = 'malformed') =>
    refusal('upstreamRejected', { idp: name, category }, `The sign-in answer from ${name} could not be accepted: ${upstreamCategories[category]}. ${again(category)}`),
  /** the IdP's answer to our LogoutRequest (SP-initiated single logout) refused: Gatehouse's session has ended anyway */
  logoutResponseRejected: (name: string, category: SamlRefusalCategory = 'malformed') =>
    refusal('logoutResponseRejected', { idp: name, category }, `You are signed out here. The sign-out answer from ${name} could not be accepted: ${refusalCategories[category]}. You may still be signed in at ${name}; close your browser to end that session.`),
  /** an IdP's LogoutRequest (single logout) refused: same categories, and nothing was signed out */
  logoutRejected: (name: string, category: SamlRefusalCategory = 'malformed') =>
    refusal('logoutRejected', { idp: name, category }, `The sign-out request from ${name} could not be accepted: ${refusalCategories[category]}. You are still signed in here; sign out from your account page if you meant to.`),
};

/**
 * The reason category of a refused SAML response, named to the person (SamlRejected.category); which check
 * failed, exactly, is in the log and the audit event only.
 */
export const refusalCategories: Record<SamlRefusalCategory, string> = {
  identifier: 'the identity provider sent no usable user identifier',
  signature: 'its signature could not be verified',
  expired: 'it has expired or is not valid yet (the clocks may differ)',
  addressing: 'it was meant for another service, or came from another identity provider',
  replay: 'it answers no sign-in in progress here, or was already used',
  upstream: 'the identity provider did not sign you in',
  malformed: 'it is not a well-formed SAML response',
  encryption: 'it was not encrypted as agreed, or could not be decrypted',
};

/** The same categories, in the words of OpenID Connect and OAuth 2.0 answers. */
export const upstreamCategories: Record<SamlRefusalCategory, string> = {
  ...refusalCategories,
  replay: 'it answers no sign-in in progress here, or was already used',
  addressing: 'it was meant for another application, or came from another provider',
  malformed: 'it is not a well-formed answer',
  encryption: 'it could not be decrypted',
};

/** A federated sign-in that cannot complete: shown on the error page, never with a stack trace. */
export class FederationRefusedError extends AccessDeniedError {
  constructor(refused: Refusal | string, detail?: string) {
    super(typeof refused === 'string' ? refused : refused.text, detail, 400);
    if (typeof refused !== 'string') this.withPageMessage(refused.key, refused.values);
  }
}
