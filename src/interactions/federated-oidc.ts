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
 * account can attach an upstream identity to it. The attempt counts against the account's login throttle.
 */
import { randomBytes } from 'node:crypto';
import type { Context } from 'koa';
import type { Renderer } from '../http/render.js';
import type { AuditLog } from '../audit/audit-log.js';
import { DuplicateError, type AccountRecord, type FederationStore, type ShortLivedRecordStore } from '../../adapters/contract.js';
import type { OidcLogins, OidcIdentity } from '../federation/oidc/oidc-logins.js';
import type { FederatedAccounts } from '../federation/federated-accounts.js';
import type { OidcUpstreamConfig } from '../config/federation/oidc-config.js';
import { oidcProfile, upstreamAuthContext } from '../federation/oidc/oidc-profile.js';
import { FederationRefusedError, refusalMessages } from '../federation/federation-errors.js';
import { NotFoundError, TooManyRequestsError } from '../errors/errors.js';
import { accountSubject, unknownLoginSubject, type LoginThrottle } from '../accounts/login-throttle.js';
import type { Interaction } from '../oidc/interaction.js';
import type { UpstreamProfile } from '../federation/upstream-profile.js';

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
  /** remembers the upstream sign-in for the session it completes (upstream logout) */
  sessions?: { remember(uid: string, accountId: string, providerId: string, idToken: string | undefined): Promise<void> };
};

type Done = { result: Record<string, unknown>; notice?: string };

const LINK_TTL = 600;
const LINK = /^[A-Za-z0-9_-]{32}$/;

export function createOidcSignIn(deps: OidcSignInDeps) {
  const { logins } = deps;

  function upstream(providerId: string): OidcUpstreamConfig {
    const u = logins.get(providerId);
    if (!u) throw new NotFoundError('There is no such sign-in option.');
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
    const { acr, amr } = upstreamAuthContext(config, identity);
    const result = { login: { accountId: signedIn.account.id, acr, amr, remember: true } };
    const kept = signedIn.emailKept;
    return kept ? { result, notice: refusalMessages.emailKept(config.name, kept.kept, kept.asserted) } : { result };
  }

  async function linkPage(ctx: Context, interaction: Interaction, config: OidcUpstreamConfig, email: string, link: string, error: string | null = null) {
    await deps.render(ctx, 'federated-link', { title: `Link ${config.name}`, providerName: config.name, providerId: config.id, uid: interaction.uid, email, link, error });
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
      await linkPage(ctx, interaction, config, done.linkTo.email, link);
      return undefined;
    },

    async link(ctx: Context, interaction: Interaction, providerId: string, form: Record<string, string>): Promise<Done | undefined> {
      const config = upstream(providerId);
      const link = form.link ?? '';
      const pending = LINK.test(link) ? await deps.records.find('OidcLinkPending', link) : undefined;
      if (!pending || pending.consumed || pending.uid !== interaction.uid || pending.providerId !== providerId) {
        throw new FederationRefusedError(refusalMessages.upstreamRejected(config.name, 'replay'), 'no pending link for this interaction');
      }
      const email = String(pending.email);
      // count first, then check, under the account's own counter (the login page's throttle)
      const attempt = await deps.throttle.begin(pending.accountId ? accountSubject(String(pending.accountId)) : unknownLoginSubject(email), ctx.ip);
      if (attempt.refused) throw new TooManyRequestsError(attempt.retryAfter, 'Too many failed attempts. Try again later.');
      const checked = await deps.checkPassword(email, form.password ?? '');
      if (!checked.account || checked.account.id !== pending.accountId) {
        await attempt.settle('failed');
        await deps.audit.record({ type: 'federation.link', result: 'failure', accountId: String(pending.accountId), reason: 'wrong_password', details: { provider: providerId } }, ctx);
        ctx.status = 401;
        await linkPage(ctx, interaction, config, email, link, 'That password is not right.');
        return undefined;
      }
      await attempt.settle('succeeded');
      if (!(await deps.records.consume('OidcLinkPending', link))) throw new FederationRefusedError(refusalMessages.upstreamRejected(config.name, 'replay'), 'link already used');
      const identity = pending.identity as OidcIdentity;
      const now = Date.now();
      try {
        await deps.federation.createLink({ providerId, externalId: identity.externalId, accountId: checked.account.id, createdAt: now, lastLoginAt: now });
      } catch (err) {
        if (!(err instanceof DuplicateError)) throw err;
      }
      await deps.audit.record({ type: 'federation.link', result: 'success', accountId: checked.account.id, reason: 'local_password', details: { provider: providerId } }, ctx);
      const profile = oidcProfile(config, identity);
      if (!profile) throw new FederationRefusedError(refusalMessages.noEmail(config.name), 'the upstream sent no usable email');
      const done = await finish(interaction, config, identity, profile);
      if ('linkTo' in done) throw new FederationRefusedError(refusalMessages.emailTaken(config.name), 'still not linked after the link');
      return done;
    },
  };
}
