/**
 * Before a provider written through the management API is stored: the federation it would put in
 * service is built (SAML metadata fetched, the written OIDC provider's issuer discovered), so that a
 * provider that cannot be used is refused (UpstreamUnusable, a 422) instead of stored while the old
 * federation stays in service. The built federation is dropped (it starts no timer: the holder owns
 * those, federation-holder.ts); the holder builds its own from what was stored.
 *
 * The caller sees only what it sent and fixed words: which field, whether the upstream could not be
 * reached or answered with something unusable, an HTTP status; never the underlying error (an address
 * a host name resolved to, a stack), and never a word about a provider it did not write (FEDERATION_FILE's).
 */
import type { Logger } from 'pino';
import type { FederationConfig } from '../config/federation/federation-file.js';
import { UpstreamUnusable } from '../federation/identity-provider-admin.js';
import type { Federation } from './build-federation.js';

export function federationProver(d: {
  build(config: FederationConfig): Promise<Federation>;
  /** the configuration in service with these stored providers (the default tenant's merged with FEDERATION_FILE) */
  inService(stored: FederationConfig): FederationConfig | null;
  logger: Pick<Logger, 'warn'>;
}): (stored: FederationConfig, id: string) => Promise<void> {
  return async (stored, id) => {
    const config = d.inService(stored);
    if (!config) return;
    let federation: Federation;
    try {
      federation = await d.build(config);
    } catch (err) {
      d.logger.warn({ err, provider: id }, 'a written identity provider was refused: the federation with it could not be built (nothing stored)');
      throw samlRefusal(err, config, id);
    }
    try {
      await federation.probe(id);
    } catch (err) {
      d.logger.warn({ err, provider: id }, 'a written identity provider was refused: its issuer could not be discovered (nothing stored)');
      throw oidcRefusal(err);
    }
  };
}

/**
 * The CLI's lighter check (it builds no app): only the written provider's upstream is loaded, its SAML
 * metadata fetched and read, its OIDC issuer discovered, through the same SSRF guard as the server's.
 */
export function upstreamLoader(d: { issuer: string; privateHosts: readonly string[] }): (stored: FederationConfig, id: string) => Promise<void> {
  return async (stored, id) => {
    // imported when a provider is written: samlify, openid-client and the XML stack stay out of other commands
    const [{ loadSamlProviders }, { createUpstream }, { createUpstreamFetch }] = await Promise.all([
      import('../federation/saml/saml-providers.js'), import('../federation/oidc/upstream-clients.js'), import('../federation/oidc/upstream-fetch.js'),
    ]);
    const fetch = createUpstreamFetch(d.privateHosts);
    const saml = { ...stored.saml, idps: stored.saml.idps.filter((p) => p.id === id) };
    if (saml.idps.length) {
      await loadSamlProviders(saml, d.issuer).catch((err: unknown) => {
        throw samlRefusal(err, { ...stored, saml }, id);
      });
    }
    const oidc = stored.oidc.providers.find((p) => p.id === id && p.protocol === 'oidc');
    if (oidc) {
      await createUpstream(oidc, { fetch, redirectUri: `${d.issuer}/federation/oidc/${id}/callback` }).metadata().catch((err: unknown) => {
        throw oidcRefusal(err);
      });
    }
  };
}

/** saml-providers.ts names the IdP as `FEDERATION_FILE: saml.idps[i]` (its index in the configuration in service). */
function samlRefusal(err: unknown, config: FederationConfig, id: string): UpstreamUnusable {
  const message = err instanceof Error ? err.message : '';
  const at = /^FEDERATION_FILE: saml\.idps\[(\d+)\](?:\.(\w+))?: /.exec(message);
  if (!at || config.saml.idps[Number(at[1])]?.id !== id) {
    return new UpstreamUnusable('body', 'The identity providers could not be put in service with this change; nothing was stored. Try again later.', 'refused');
  }
  const field = at[2] ?? 'metadataUrl';
  const status = /answered HTTP (\d{3})/.exec(message)?.[1];
  if (status) return new UpstreamUnusable('metadataUrl', `metadataUrl answered HTTP ${status}, not the IdP's metadata; nothing was stored.`, 'refused');
  if (/: cannot fetch /.test(message)) {
    return new UpstreamUnusable('metadataUrl', 'metadataUrl could not be fetched (no connection, no answer in time, or a redirect, which is not followed); nothing was stored.', 'unreachable');
  }
  // the reader's own words about the document, without what it quoted of the underlying error
  const why = message.slice(at[0].length).replace(/\s*\([^)]*\)/g, '').slice(0, 300);
  return new UpstreamUnusable(field === 'metadataUrl' ? 'metadataUrl' : field, `The IdP metadata cannot be used: ${why}; nothing was stored.`, 'refused');
}

/** upstream-clients.ts: "discovery failed: …" (no answer), "discovery answered HTTP n", a malformed or mismatched document. */
function oidcRefusal(err: unknown): UpstreamUnusable {
  const message = err instanceof Error ? err.message : '';
  const status = /^discovery answered HTTP (\d{3})/.exec(message)?.[1];
  if (status) return new UpstreamUnusable('issuer', `The issuer's discovery document (/.well-known/openid-configuration) answered HTTP ${status}; nothing was stored.`, 'refused');
  if (message.startsWith('discovery failed')) {
    return new UpstreamUnusable('issuer', "The issuer's discovery document (/.well-known/openid-configuration) could not be fetched (no connection, no answer in time, a redirect, or an address the server may not reach); nothing was stored.", 'unreachable');
  }
  if (/^discovery issuer /.test(message)) {
    return new UpstreamUnusable('issuer', "The issuer's discovery document names another issuer (OpenID Connect Discovery 1.0 §4.3: it must be identical); nothing was stored.", 'refused');
  }
  return new UpstreamUnusable('issuer', "The issuer's discovery document is not an OpenID Connect provider's (issuer, authorization_endpoint, token_endpoint and jwks_uri); nothing was stored.", 'refused');
}
