/**
 * /admin/v1/identity-providers: the upstream LDAP directories, SAML IdPs and OpenID Connect / OAuth 2.0
 * providers this tenant federates to. Listed: the federation file's (FEDERATION_FILE, the default
 * tenant's; read-only, `source: "federation-file"`) and those written here or by the CLI (`source:
 * "api"`, stored sealed: a tenant's in its settings, the default tenant's in its settings record).
 * Written (admin:federation:write): one provider in the federation file's per-provider format, files
 * inline, checked by the federation file's own reader (federation/identity-provider-admin.ts), then the
 * federation it would put in service is built (app/prove-federation.ts) before anything is stored. Never a
 * secret in an answer: no client secret, bind password or private key, only which client
 * authentication method is configured.
 */
import { z } from 'zod';
import type { Context } from 'koa';
import type { AuditLog } from '../../audit/audit-log.js';
import { InvalidProviderInput, ProviderWriteRefused, UpstreamUnusable, type IdentityProviderAdmin, type ShownProvider } from '../../federation/identity-provider-admin.js';
import { ProblemError } from '../../errors/errors.js';
import { etagOf, requireIfMatch } from '../etag.js';
import { route, type AdminRoute } from '../route-table.js';
import type { AdminCaller } from '../bearer-auth.js';

export type IdentityProviderRoutesDeps = {
  providers: IdentityProviderAdmin;
  audit: Pick<AuditLog, 'record'>;
  /** after a write, before the answer: this replica's login page and flows use the change at once */
  changed(): Promise<void>;
};

const PROTOCOLS = ['ldap', 'saml', 'oidc', 'oauth2'] as const;

const providerSchema = z.object({
  id: z.string(),
  protocol: z.enum(PROTOCOLS),
  name: z.string().describe('the login button: "Continue with <name>"'),
  domains: z.array(z.string()).describe('email domains routed to it (home-realm discovery)'),
  email_domains: z.array(z.string()).describe('email domains it may assert addresses in'),
  outside_domains: z.enum(['unverified', 'refuse']),
  email_verified: z.boolean().describe('whether its addresses count as verified'),
  link_existing_accounts: z.boolean(),
  email_conflict: z.enum(['keep', 'refuse']),
  claims: z.record(z.string(), z.string()).describe('claim → upstream attribute or claim'),
  roles: z.record(z.string(), z.array(z.string())).describe('upstream group → Gatehouse roles'),
  settings: z.record(z.string(), z.unknown()).describe("the protocol's own settings, without secrets"),
  source: z.enum(['federation-file', 'api']).describe('where its settings are changed: FEDERATION_FILE, or this API and the CLI'),
});

// the provider's own keys are checked by the federation file's reader, which names any it does not know
const providerBody = z.looseObject({
  protocol: z.enum(PROTOCOLS).describe('which list of the federation file the provider belongs to'),
}).describe("the federation file's entry for one provider (README: Upstream federation), files inline (`ca`, not `caFile`), secrets included (never shown again)");

const idParams = z.object({ id: z.string().min(1).max(100) });

/** The ETag: the provider as shown and the version of the settings it was read from (never a hash over a secret). */
const etagOfShown = (s: ShownProvider) => etagOf({ provider: s.provider, version: s.version });

function asProblem(err: unknown): never {
  if (err instanceof InvalidProviderInput) {
    throw new ProblemError('invalid_input', 400, err.message, undefined, {}, { errors: [{ path: `body.${err.path}`, message: err.message }] });
  }
  // RFC 9110 §15.5.21 (422 Unprocessable Content): the body is well-formed and valid, but names an upstream
  // that cannot be used. Not 502: that says this server failed as a gateway for the request itself
  // (§15.6.3), while here the caller's settings are what cannot be carried out, and retrying the same
  // body helps only once the caller's upstream answers.
  if (err instanceof UpstreamUnusable) {
    throw new ProblemError('upstream_unusable', 422, err.message, undefined, {}, { errors: [{ path: `body.${err.path}`, message: err.message }], reason: err.reason });
  }
  if (err instanceof ProviderWriteRefused) {
    if (err.why === 'not_found') throw new ProblemError('not_found', 404, err.message);
    if (err.why === 'stale') throw new ProblemError('precondition_failed', 412, err.message);
    throw new ProblemError('conflict', 409, err.message);
  }
  throw err;
}

export function identityProviderRoutes(d: IdentityProviderRoutesDeps): AdminRoute[] {
  const audited = (ctx: Context, caller: AdminCaller, type: string, p: { id: string; protocol: string }) =>
    d.audit.record({ type, accountId: caller.accountId, clientId: caller.clientId, details: { providerId: p.id, protocol: p.protocol, by_account: caller.accountId, via: 'admin_api' } }, ctx);
  const found = async (id: string) => (await d.providers.get(id)) ?? asProblem(new ProviderWriteRefused('not_found', 'No identity provider has this id.'));
  return [
    route({
      method: 'get', path: '/identity-providers', operationId: 'identityProviders.list',
      summary: 'List the upstream directories and identity providers (FEDERATION_FILE\'s and those written here; never secrets)', scope: 'admin:federation:read',
      response: z.object({ items: z.array(providerSchema) }),
      handler: async () => ({ body: { items: (await d.providers.list()).providers } }),
    }),
    route({
      method: 'get', path: '/identity-providers/:id', operationId: 'identityProviders.get',
      summary: 'One upstream directory or identity provider', scope: 'admin:federation:read',
      params: idParams,
      response: providerSchema,
      async handler({ params }) {
        const shown = await found(params.id);
        return { body: shown.provider, etag: etagOfShown(shown) };
      },
    }),
    route({
      method: 'post', path: '/identity-providers', operationId: 'identityProviders.create',
      summary: 'Add an upstream directory or identity provider (409 when the id is taken, here or in FEDERATION_FILE; 422 when its upstream cannot be used, and nothing is stored)', scope: 'admin:federation:write',
      body: providerBody, response: providerSchema, status: 201,
      async handler({ body, ctx, caller }) {
        const { protocol, ...entry } = body;
        const shown = await d.providers.create(protocol, entry).catch(asProblem);
        await d.changed();
        await audited(ctx, caller, 'identity_provider.created', shown.provider);
        return { status: 201, body: shown.provider, etag: etagOfShown(shown), headers: { Location: `${ctx.path}/${shown.provider.id}` } };
      },
    }),
    route({
      method: 'put', path: '/identity-providers/:id', operationId: 'identityProviders.replace',
      summary: 'Replace an identity provider\'s settings, secrets included (If-Match; 409 for one of FEDERATION_FILE; 422 when its upstream cannot be used, and the old settings stay)', scope: 'admin:federation:write',
      params: idParams, ifMatch: true, body: providerBody, response: providerSchema,
      async handler({ params, body, ctx, caller }) {
        const current = await found(params.id);
        if (current.provider.source === 'federation-file') asProblem(new ProviderWriteRefused('file', 'This identity provider is configured in FEDERATION_FILE; change it there.'));
        requireIfMatch(ctx, etagOfShown(current));
        const { protocol, ...entry } = body;
        const shown = await d.providers.replace(params.id, protocol, entry, current.version).catch(asProblem);
        await d.changed();
        await audited(ctx, caller, 'identity_provider.updated', shown.provider);
        return { body: shown.provider, etag: etagOfShown(shown) };
      },
    }),
    route({
      method: 'delete', path: '/identity-providers/:id', operationId: 'identityProviders.delete',
      summary: 'Remove an identity provider (If-Match when sent; 409 for one of FEDERATION_FILE). People linked to it keep their accounts', scope: 'admin:federation:write',
      params: idParams,
      async handler({ params, ctx, caller }) {
        const current = await found(params.id);
        if (current.provider.source === 'federation-file') asProblem(new ProviderWriteRefused('file', 'This identity provider is configured in FEDERATION_FILE; remove it there.'));
        if (ctx.get('if-match')) requireIfMatch(ctx, etagOfShown(current));
        const gone = await d.providers.delete(params.id, current.version).catch(asProblem);
        await d.changed();
        await audited(ctx, caller, 'identity_provider.deleted', gone);
        return { status: 204 };
      },
    }),
  ];
}
