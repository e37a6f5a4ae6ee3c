/**
 * oidc-provider's events, recorded in the audit log: tokens issued and refused at the token endpoint,
 * grants revoked (logout, refresh-token reuse, code replay), tokens revoked at the revocation endpoint,
 * and logouts. Attached to every Provider the host builds (keys rotate by rebuilding it).
 */
import { Provider, type KoaContextWithOIDC } from 'oidc-provider';
import type { AuditLog } from './audit-log.js';

type Listener = (...args: never[]) => void;

export function auditProviderEvents(provider: Provider, audit: Pick<AuditLog, 'record'>): void {
  // oidc-provider is an EventEmitter; its typings list the events, we pass our own names through
  const on = (event: string, listener: Listener) => (provider as unknown as NodeJS.EventEmitter).on(event, listener as (...args: unknown[]) => void);
  const clientOf = (ctx: KoaContextWithOIDC) => ctx.oidc?.client?.clientId ?? null;
  const accountOf = (ctx: KoaContextWithOIDC) => ctx.oidc?.account?.accountId ?? ctx.oidc?.session?.accountId ?? null;
  const grantType = (ctx: KoaContextWithOIDC) => String(ctx.oidc?.params?.grant_type ?? 'unknown');

  on('grant.success', (ctx: KoaContextWithOIDC) => {
    void audit.record({ type: 'token.issued', accountId: accountOf(ctx), clientId: clientOf(ctx), details: { grant_type: grantType(ctx) } }, ctx);
  });
  on('grant.error', (ctx: KoaContextWithOIDC, err: { error?: string }) => {
    void audit.record(
      { type: 'token.refused', result: 'failure', clientId: clientOf(ctx), reason: err.error ?? 'error', details: { grant_type: grantType(ctx) } },
      ctx,
    );
  });
  on('grant.revoked', (ctx: KoaContextWithOIDC, grantId: string) => {
    void audit.record({ type: 'grant.revoked', accountId: accountOf(ctx), clientId: clientOf(ctx), details: { grant: grantId, route: ctx.oidc?.route } }, ctx);
  });
  for (const kind of ['access_token', 'refresh_token'] as const) {
    // the revocation endpoint destroys the token it was given (RFC 7009 §2.1)
    on(`${kind}.destroyed`, (token: { accountId?: string; clientId?: string; grantId?: string }) => {
      const ctx = Provider.ctx;
      if (ctx?.oidc?.route !== 'revocation') return;
      void audit.record({ type: 'token.revoked', accountId: token.accountId ?? null, clientId: token.clientId ?? null, details: { kind, grant: token.grantId } }, ctx);
    });
  }
  // RFC 7591 / 7592: clients registered, updated and deleted by themselves, audited like the CLI's
  const viaRegistration = (type: string) => (ctx: KoaContextWithOIDC, client?: { clientId: string }) => {
    void audit.record({ type, clientId: client?.clientId ?? clientOf(ctx), details: { via: 'dynamic registration' } }, ctx);
  };
  on('registration_create.success', viaRegistration('admin.client.created'));
  on('registration_update.success', viaRegistration('admin.client.updated'));
  on('registration_delete.success', viaRegistration('admin.client.deleted'));
  on('end_session.success', (ctx: KoaContextWithOIDC) => {
    void audit.record({ type: 'logout', accountId: ctx.oidc?.session?.accountId ?? null, clientId: clientOf(ctx) }, ctx);
  });
  on('backchannel.error', (ctx: KoaContextWithOIDC, err: Error, client: { clientId: string }, accountId: string) => {
    void audit.record({ type: 'logout.backchannel', result: 'failure', accountId, clientId: client.clientId, reason: err.message.slice(0, 200) }, ctx);
  });
}
