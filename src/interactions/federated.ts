/**
 * Signing in at an upstream SAML IdP, as a way to complete the `login` prompt. `start` sends the browser
 * to the IdP; the IdP's answer reaches the ACS (federation/saml/saml-routes.ts), which verifies it and
 * sends the browser back here; `complete` provisions or refreshes the linked account and returns the same
 * kind of login result as a password login, so every later prompt (MFA, consent) follows as usual.
 */
import type { Context } from 'koa';
import type { Renderer } from '../http/render.js';
import type { SamlLogins } from '../federation/saml/saml-logins.js';
import type { FederatedAccounts } from '../federation/federated-accounts.js';
import { mapProfile } from '../federation/upstream-profile.js';
import { FederationRefusedError, refusalMessages, type Refusal } from '../federation/federation-errors.js';
import { NotFoundError } from '../errors/errors.js';
import { ACR, AMR } from '../assurance/acr-amr.js';
import type { Interaction } from '../oidc/interaction.js';
import type { SamlSessions } from '../federation/saml/saml-sessions.js';
import type { OidcLogins } from '../federation/oidc/oidc-logins.js';
import { createOidcSignIn, type OidcSignInDeps } from './federated-oidc.js';

export type FederatedStep = ReturnType<typeof createFederatedStep>;

export function createFederatedStep(deps: {
  saml: SamlLogins; accounts: Pick<FederatedAccounts, 'signIn'>; render: Renderer;
  /** remembers the sign-in for the session it completes, for SP-initiated single logout */
  sessions?: Pick<SamlSessions, 'remember'>;
  /** OpenID Connect / OAuth 2.0 upstreams (federated-oidc.ts) */
  oidc?: { logins: OidcLogins } & Omit<OidcSignInDeps, 'logins' | 'accounts' | 'render'>;
}) {
  const { saml } = deps;
  const oidc = deps.oidc ? createOidcSignIn({ ...deps.oidc, accounts: deps.accounts, render: deps.render }) : undefined;
  return {
    /** IdP buttons for the login page, and the origins its forms may end up at (CSP form-action). */
    buttons: [
      ...saml.providers.map((p) => ({ id: p.config.id, name: p.config.name })),
      ...(deps.oidc?.logins.upstreams ?? []).map((u) => ({ id: u.config.id, name: u.config.name, ...(u.config.logo ? { logo: u.config.logo } : {}) })),
    ],
    /** read at each render: an upstream's discovered authorization endpoint may add an origin */
    get formActionOrigins(): string[] {
      return [...new Set([...saml.providers.map((p) => p.ssoOrigin), ...(deps.oidc?.logins.upstreams ?? []).flatMap((u) => u.formActionOrigins())])];
    },
    /** the logo origins of the buttons (CSP img-src) */
    imageOrigins: [...new Set((deps.oidc?.logins.upstreams ?? []).flatMap((u) => (u.config.logo ? [new URL(u.config.logo).origin] : [])))],
    /** POST /interaction/:uid/federated/:provider/link: the local password proves the account before the link */
    link: (ctx: Context, interaction: Interaction, providerId: string, form: Record<string, string>) => {
      if (!oidc) throw new NotFoundError('There is no such sign-in option.').withPageMessage('errors.noSuchSignInOption');
      return oidc.link(ctx, interaction, providerId, form);
    },
    /** POST /interaction/:uid/federated/:provider/link/passkey-options: or one of the account's passkeys (JSON for the page script) */
    linkPasskeyOptions: (interaction: Interaction, providerId: string, form: Record<string, string>) => {
      if (!oidc) throw new NotFoundError('There is no such sign-in option.').withPageMessage('errors.noSuchSignInOption');
      return oidc.linkPasskeyOptions(interaction, providerId, form);
    },

    async start(ctx: Context, interaction: Interaction, providerId: string): Promise<void> {
      if (oidc?.has(providerId)) return oidc.start(ctx, interaction, providerId);
      const provider = saml.get(providerId);
      if (!provider) throw new NotFoundError('There is no such sign-in option.').withPageMessage('errors.noSuchSignInOption');
      const out = await saml.begin(providerId, interaction.uid);
      if (out.kind === 'redirect') {
        ctx.status = 303;
        ctx.redirect(out.url);
        return;
      }
      (ctx.state.formActionOrigins as Set<string>).add(provider.ssoOrigin);
      await deps.render(ctx, 'saml-post', { title: { key: 'login.continueWith', values: { idp: provider.config.name } }, idpName: provider.config.name, action: out.action, fields: out.fields });
    },

    /** The login result, and a notice the person must read before continuing (an email kept, see federated-accounts.ts). */
    async complete(ctx: Context, interaction: Interaction, providerId: string): Promise<{ result: Record<string, unknown>; notice?: Refusal } | undefined> {
      if (oidc?.has(providerId)) return oidc.complete(ctx, interaction, providerId);
      const provider = saml.get(providerId);
      if (!provider) throw new NotFoundError('There is no such sign-in option.').withPageMessage('errors.noSuchSignInOption');
      const handle = typeof ctx.query.handle === 'string' ? ctx.query.handle : '';
      const identity = handle ? await saml.collect(handle, interaction.uid, providerId) : undefined;
      if (!identity) throw new FederationRefusedError(refusalMessages.rejected(provider.config.name, 'replay'), 'no parked SAML login for this interaction');
      const attribute = (name: string) => (name === 'NameID' ? [identity.nameId] : (identity.attributes[name] ?? []));
      const groups = provider.config.groupsAttribute ? attribute(provider.config.groupsAttribute) : [];
      const profile = mapProfile(provider.config, { providerId, externalId: identity.externalId, attribute, groups });
      if (!profile) throw new FederationRefusedError(refusalMessages.noEmail(provider.config.name), 'the IdP sent no usable email');
      const signedIn = await deps.accounts.signIn(provider.config, identity.externalId, profile);
      if ('refused' in signedIn) {
        if (signedIn.refused === 'email_conflict') throw new FederationRefusedError(refusalMessages.emailConflict(provider.config.name), 'new upstream email belongs to another account (emailConflict "refuse")');
        if (signedIn.refused === 'account_disabled') throw new FederationRefusedError(refusalMessages.cannotSignIn(provider.config.name), 'the linked account is disabled');
        if (signedIn.refused === 'email_taken') throw new FederationRefusedError(refusalMessages.emailTaken(provider.config.name), 'email belongs to an unlinked account');
        throw new FederationRefusedError(refusalMessages.emailNotAllowed(provider.config.name), 'email outside the IdP\'s domains');
      }
      await deps.sessions?.remember(interaction.uid, signedIn.account.id, identity);
      const result = { login: { accountId: signedIn.account.id, acr: ACR.federated, amr: [AMR.federated], remember: true } };
      const kept = signedIn.emailKept;
      return kept ? { result, notice: refusalMessages.emailKept(provider.config.name, kept.kept, kept.asserted) } : { result };
    },
  };
}
