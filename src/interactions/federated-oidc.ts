/**
 * Signing in at an OpenID Connect / OAuth 2.0 upstream, as a way to complete the `login` prompt (the
 * SAML counterpart is federated.ts). `start` sends the browser upstream; the callback
 * (federation/oidc/oidc-routes.ts) verifies the answer and sends the browser back here; `complete` signs
 * in the linked account, or creates one (federated-accounts.ts decides, with the provider's rules).
 *
 * Linking that cannot be abused: an upstream identity whose email belongs to an account it is not linked
 * to is linked automatically only when federated-accounts.ts allows it (linkExistingAccounts, a verified
 * email inside the provider's emailDomains, an account without a password of its own). Otherwise, when
 * that account has a password, the person is asked for it (`link`): only someone who holds the local
 * account can attach an upstream identity to it. When that account has registered passkeys, an assertion by
 * one of them (user verification required, a challenge bound to this link attempt) proves it as well; both
 * proofs then make the link the same way. Each attempt counts against the account's login throttle.
 */
import { randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import type { Renderer, Title } from '../http/render.js';
import type { AuditLog } from '../audit/audit-log.js';
import { DuplicateError, type AccountRecord, type FederationStore, type ShortLivedRecordStore } from '../../adapters/contract.js';
import type { OidcLogins, OidcIdentity } from '../federation/oidc/oidc-logins.js';
import type { FederatedAccounts } from '../federation/federated-accounts.js';
import type { OidcUpstreamConfig } from '../config/federation/oidc-config.js';
import { oidcProfile, upstreamAuthContext } from '../federation/oidc/oidc-profile.js';
import { FederationRefusedError, refusalMessages, type Refusal } from '../federation/federation-errors.js';
import { InvalidRequestError, NotFoundError, TooManyRequestsError } from '../errors/errors.js';
import { accountSubject, unknownLoginSubject, type LoginThrottle } from '../accounts/login-throttle.js';
import type { Interaction } from '../oidc/interaction.js';
import type { UpstreamProfile } from '../federation/upstream-profile.js';
import { parseCredentialJson, type WebAuthnService } from '../factors/webauthn.js';
import type { AuthenticationResponseJSON } from '@simplewebauthn/server';

export type OidcSignInDeps = {
  logins: OidcLogins;
  accounts: Pick<FederatedAccounts, 'signIn'>;
  render: Renderer;
  records: Pick<ShortLivedRecordStore, 'upsert' | 'find' | 'consume'>;
  federation: Pick<FederationStore, 'createLink'>;
  findAccountByEmail(email: string): Promise<AccountRecord | undefined>;
  checkPassword(email: string, password: string): Promise<{ account?: AccountRecord }>;
  throttle: LoginThrottle;
  audit: Pick<AuditLog, 'record'>;
  /** the local account's passkeys, a second way to prove it before the link (factors/webauthn.ts) */
  passkeys?: Pick<WebAuthnService, 'list' | 'authenticationOptions' | 'verifyAuthentication'>;
  /** remembers the upstream sign-in for the session it completes (upstream logout) */
  sessions?: { remember(uid: string, accountId: string, providerId: string, idToken: string | undefined): Promise<void> };
  /** keeps a trusted upstream's acr for the ID token of the session this sign-in completes (upstream_acr) */
  upstreamAcrs?: { remember(uid: string, accountId: string, acr: string, loginTs: number): Promise<void> };
};

type Done = { result: Record<string, unknown>; notice?: Refusal };
type PendingLink = { uid: string; providerId: string; identity: OidcIdentity; accountId: string; email: string };

const LINK_TTL = 600;
const LINK = /^[A-Za-z0-9_-]{32}$/;

export function createOidcSignIn(deps: OidcSignInDeps) {
  const { logins } = deps;

  function upstream(providerId: string): OidcUpstreamConfig {
    const u = logins.get(providerId);
    if (!u) throw new NotFoundError('There is no such sign-in option.').withPageMessage('errors.noSuchSignInOption');
    return u.config;
  }

  async function finish(interaction: Interaction, config: OidcUpstreamConfig, identity: OidcIdentity, profile: UpstreamProfile): Promise<Done | { linkTo: AccountRecord }> {
    const signedIn = await deps.accounts.signIn(config, identity.externalId, profile);
    if ('refused' in signedIn) {
      if (signedIn.refused === 'email_taken') {
        const existing = await deps.findAccountByEmail(profile.email);
        // an account without a password of its own (another provider's) cannot be proven here
        if (existing?.passwordHash && existing.disabledAt === null) return { linkTo: existing };
        throw new FederationRefusedError(refusalMessages.emailTaken(config.name), 'email belongs to an unlinked account without a password');
      }
      if (signedIn.refused === 'email_conflict') throw new FederationRefusedError(refusalMessages.emailConflict(config.name), 'new upstream email belongs to another account (emailConflict "refuse")');
      if (signedIn.refused === 'account_disabled') throw new FederationRefusedError(refusalMessages.cannotSignIn(config.name), 'the linked account is disabled');
      throw new FederationRefusedError(refusalMessages.emailNotAllowed(config.name), "email outside the provider's domains");
    }
    await deps.sessions?.remember(interaction.uid, signedIn.account.id, config.id, identity.idToken);
    const { acr, amr, upstreamAcr } = upstreamAuthContext(config, identity);
    // the sign-in time, named: a later prompt's result merged with this one (consent) keeps it, so the
    // sign-in stays the same one for max_age and for upstream_acr (upstream-acr.ts binds it to this time)
    const ts = Math.floor(Date.now() / 1000);
    if (upstreamAcr) await deps.upstreamAcrs?.remember(interaction.uid, signedIn.account.id, upstreamAcr, ts);
    const result = { login: { accountId: signedIn.account.id, acr, amr, remember: true, ts } };
    const kept = signedIn.emailKept;
    return kept ? { result, notice: refusalMessages.emailKept(config.name, kept.kept, kept.asserted) } : { result };
  }

  async function linkPage(ctx: Context, interaction: Interaction, config: OidcUpstreamConfig, pending: Pick<PendingLink, 'accountId' | 'email'>, link: string, error: Title | null = null) {
    // the passkey option only for an account that has one (its credentials are the only ones allowed)
    const passkey = deps.passkeys ? (await deps.passkeys.list(pending.accountId)).length > 0 : false;
    await deps.render(ctx, 'federated-link', { title: { key: 'federated.link.heading', values: { provider: config.name } }, providerName: config.name, providerId: config.id, uid: interaction.uid, email: pending.email, link, error, passkey });
  }

  /** The pending link this form names, for this interaction and provider; refused (as a replay) otherwise. */
  async function pendingLink(config: OidcUpstreamConfig, interaction: Interaction, providerId: string, link: string): Promise<PendingLink> {
    const pending = LINK.test(link) ? await deps.records.find('OidcLinkPending', link) : undefined;
    if (!pending || pending.consumed || pending.uid !== interaction.uid || pending.providerId !== providerId) {
      throw new FederationRefusedError(refusalMessages.upstreamRejected(config.name, 'replay'), 'no pending link for this interaction');
    }
    return { uid: String(pending.uid), providerId, identity: pending.identity as OidcIdentity, accountId: String(pending.accountId), email: String(pending.email) };
  }

  /** Whether the form proves the pending account: its password, or an assertion by one of its passkeys. */
  async function proves(interaction: Interaction, pending: PendingLink, link: string, form: Record<string, string>): Promise<{ ok: true; reason: string } | { ok: false; reason: string; message: Title }> {
    if (form.credential !== undefined) {
      if (!deps.passkeys) return { ok: false, reason: 'wrong_passkey', message: { key: 'federated.link.noPasskeys' } };
      // a malformed response is a WebAuthnInputError, answered by the error handler (errors/error-handler.ts)
      const response = parseCredentialJson<AuthenticationResponseJSON>(form.credential, 'authentication');
      const verdict = await deps.passkeys.verifyAuthentication(response, { purpose: 'link', accountId: pending.accountId, interactionUid: interaction.uid, link });
      // the same words whatever went wrong: they must not tell whose passkey it was
      if (!verdict.ok || verdict.accountId !== pending.accountId) return { ok: false, reason: 'wrong_passkey', message: { key: 'federated.link.wrongPasskey' } };
      return { ok: true, reason: 'local_passkey' };
    }
    const checked = await deps.checkPassword(pending.email, form.password ?? '');
    if (!checked.account || checked.account.id !== pending.accountId) return { ok: false, reason: 'wrong_password', message: { key: 'federated.link.wrongPassword' } };
    return { ok: true, reason: 'local_password' };
  }

  return {
    has: (providerId: string) => logins.get(providerId) !== undefined,

    async start(ctx: Context, interaction: Interaction, providerId: string): Promise<void> {
      upstream(providerId);
      let url: string;
      try {
        url = await logins.begin(providerId, interaction.uid);
      } catch (err) {
        throw new FederationRefusedError(refusalMessages.unavailableUpstream(upstream(providerId).name), `upstream unavailable: ${(err as Error).message}`);
      }
      ctx.status = 303;
      ctx.redirect(url);
    },

    async complete(ctx: Context, interaction: Interaction, providerId: string): Promise<Done | undefined> {
      const config = upstream(providerId);
      const handle = typeof ctx.query.handle === 'string' ? ctx.query.handle : '';
      const identity = handle ? await logins.collect(handle, interaction.uid, providerId) : undefined;
      if (!identity) throw new FederationRefusedError(refusalMessages.upstreamRejected(config.name, 'replay'), 'no parked upstream sign-in for this interaction');
      const profile = oidcProfile(config, identity);
      if (!profile) throw new FederationRefusedError(refusalMessages.noEmail(config.name), 'the upstream sent no usable email');
      const done = await finish(interaction, config, identity, profile);
      if (!('linkTo' in done)) return done;
      const link = randomBytes(24).toString('base64url');
      await deps.records.upsert('OidcLinkPending', link, { uid: interaction.uid, providerId, identity, accountId: done.linkTo.id, email: done.linkTo.email }, LINK_TTL);
      await linkPage(ctx, interaction, config, { accountId: done.linkTo.id, email: done.linkTo.email }, link);
      return undefined;
    },

    /** POST .../link/passkey-options: a challenge bound to this link attempt, for the pending account's passkeys only. */
    async linkPasskeyOptions(interaction: Interaction, providerId: string, form: Record<string, string>) {
      const config = upstream(providerId);
      const link = form.link ?? '';
      const pending = await pendingLink(config, interaction, providerId, link);
      if (!deps.passkeys || (await deps.passkeys.list(pending.accountId)).length === 0) {
        throw new InvalidRequestError('This account has no passkey. Enter its password instead.', 'link passkey options for an account without passkeys');
      }
      return deps.passkeys.authenticationOptions({ purpose: 'link', accountId: pending.accountId, interactionUid: interaction.uid, link });
    },

    async link(ctx: Context, interaction: Interaction, providerId: string, form: Record<string, string>): Promise<Done | undefined> {
      const config = upstream(providerId);
      const link = form.link ?? '';
      const pending = await pendingLink(config, interaction, providerId, link);
      // count first, then check, under the account's own counter (the login page's throttle)
      const attempt = await deps.throttle.begin(pending.accountId ? accountSubject(pending.accountId) : unknownLoginSubject(pending.email), ctx.ip);
      if (attempt.refused) throw new TooManyRequestsError(attempt.retryAfter, 'Too many failed attempts. Try again later.').withPageMessage('errors.tooManyAttempts');
      const proof = await proves(interaction, pending, link, form);
      if (!proof.ok) {
        await attempt.settle('failed');
        await deps.audit.record({ type: 'federation.link', result: 'failure', accountId: pending.accountId, reason: proof.reason, details: { provider: providerId } }, ctx);
        ctx.status = 401;
        await linkPage(ctx, interaction, config, pending, link, proof.message);
        return undefined;
      }
      await attempt.settle('succeeded');
      if (!(await deps.records.consume('OidcLinkPending', link))) throw new FederationRefusedError(refusalMessages.upstreamRejected(config.name, 'replay'), 'link already used');
      const identity = pending.identity;
      const now = Date.now();
      try {
        await deps.federation.createLink({ providerId, externalId: identity.externalId, accountId: pending.accountId, createdAt: now, lastLoginAt: now });
      } catch (err) {
        if (!(err instanceof DuplicateError)) throw err;
      }
      await deps.audit.record({ type: 'federation.link', result: 'success', accountId: pending.accountId, reason: proof.reason, details: { provider: providerId } }, ctx);
      const profile = oidcProfile(config, identity);
      if (!profile) throw new FederationRefusedError(refusalMessages.noEmail(config.name), 'the upstream sent no usable email');
      const done = await finish(interaction, config, identity, profile);
      if ('linkTo' in done) throw new FederationRefusedError(refusalMessages.emailTaken(config.name), 'still not linked after the link');
      return done;
    },
  };
}
