/**
 * /account/linked: the upstream sign-ins (OpenID Connect, OAuth 2.0, SAML, LDAP) linked to the person's
 * account, each with a remove button (a CSRF-protected form, after a recent sign-in). Removing a link
 * also removes the roles that provider granted. The last way to sign in cannot be removed: an account
 * without a password keeps at least one link, or it could never be signed in to again.
 */
import type Router from '@koa/router';
import type { Context } from 'koa';
import type { AuditLog } from '../audit/audit-log.js';
import type { FederationStore } from '../../adapters/contract.js';
import type { createAccountAuth, AccountState } from './account-auth.js';
import type { Title } from '../http/render.js';

export type LinkedSignInDeps = {
  auth: ReturnType<typeof createAccountAuth>;
  federation: Pick<FederationStore, 'linksOf' | 'removeLink' | 'setRoles'>;
  /** the display name of a provider id ("Continue with <name>"), or the id itself */
  providerName(id: string): string;
  audit: Pick<AuditLog, 'record'>;
  page(ctx: Context, view: string, title: Title, locals?: Record<string, unknown>): Promise<void>;
};

export function registerLinkedSignInRoutes(router: Router, deps: LinkedSignInDeps): void {
  const recent = deps.auth.requireRecentSignIn;
  const accountOf = (ctx: Context) => (ctx.state as AccountState).account;

  router.get('/linked', async (ctx) => {
    const account = accountOf(ctx);
    const links = (await deps.federation.linksOf(account.id)).map((l) => ({ ...l, name: deps.providerName(l.providerId) }));
    await deps.page(ctx, 'account-linked', { key: 'account.linked.title' }, { links, hasPassword: account.passwordHash !== null });
  });

  router.post('/linked/:provider/remove', recent, async (ctx) => {
    const account = accountOf(ctx);
    const providerId = String(ctx.params.provider);
    const externalId = String((ctx.state.form as Record<string, string> | undefined)?.externalId ?? '');
    const links = await deps.federation.linksOf(account.id);
    const link = links.find((l) => l.providerId === providerId && l.externalId === externalId);
    if (!link) return ctx.redirect('/account/linked?notice=link-gone');
    // the last way in: no password, and no other link
    if (account.passwordHash === null && links.length <= 1) return ctx.redirect('/account/linked?notice=link-last');
    if (!(await deps.federation.removeLink(account.id, providerId, externalId))) return ctx.redirect('/account/linked?notice=link-gone');
    if (!links.some((l) => l !== link && l.providerId === providerId)) await deps.federation.setRoles(account.id, providerId, []);
    await deps.audit.record({ type: 'federation.link_removed', accountId: account.id, details: { provider: providerId, via: 'account page' } }, ctx);
    ctx.redirect('/account/linked?notice=link-removed');
  });
}
