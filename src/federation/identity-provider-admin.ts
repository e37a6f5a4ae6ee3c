/**
 * Upstream providers written at run time (issue 17: "the management API once it exists"): create,
 * replace and delete one provider in a tenant's stored federation settings. The management API
 * (/admin/v1/identity-providers) and the CLI (`gatehouse federation create|update|delete`) are doors onto
 * this one service. A provider is written in the federation file's per-provider format, files inline,
 * and the whole document that results is checked by the federation file's own reader (so every rule of
 * the file holds: unknown keys, `...File` keys, http only to loopback, one owner per domain), then by the
 * place it is stored (a tenant's group mappings must name its roles). The default tenant's
 * FEDERATION_FILE providers are shown too, read-only: they are changed in the file.
 */
import { readFederationSettings, type FederationConfig } from '../config/federation/federation-file.js';
import { FederationFileError } from '../config/federation/checks.js';
import { providerSummaries, type ProviderSummary } from './provider-summary.js';
import { entryOf, providerEntries, withDirectoryOrdered, withEntry, withoutEntry, type FederationDocument, type ProviderProtocol } from './provider-entries.js';
import { isSpecialUse } from './oidc/upstream-fetch.js';

/** Bad input; `path` names the provider's field (`issuer`, `claims.email`), as the API's problem details do. */
export class InvalidProviderInput extends Error {
  constructor(readonly path: string, message: string) {
    super(`${path}: ${message}`);
  }
}
/** why a write was refused: no such provider, an id taken, a provider of FEDERATION_FILE, or changed since read */
export class ProviderWriteRefused extends Error {
  constructor(readonly why: 'not_found' | 'exists' | 'file' | 'stale', message: string) {
    super(message);
  }
}

/**
 * The federation a write would put in service could not be built: SAML metadata that cannot be loaded,
 * an issuer whose discovery fails. Thrown by `prove`, before anything is stored. `message` is safe to
 * show (no stack, no address beyond what the caller sent); `path` names the provider's field.
 */
export class UpstreamUnusable extends Error {
  constructor(readonly path: string, message: string, readonly reason: 'unreachable' | 'refused') {
    super(message);
  }
}

/** Where a tenant's written providers are kept (its registry row, or the default tenant's SettingsStore record). */
export type FederationDocumentStore = {
  /** the stored document ({} when there is none) and its version (0: never written) */
  load(): Promise<{ document: FederationDocument; version: number }>;
  /** Stores it while the version is `version`; false when it changed meanwhile; InvalidProviderInput when this place refuses it. */
  save(document: FederationDocument, version: number): Promise<boolean>;
};

/** A provider as the doors show it, with the version of the settings it was read from (its ETag's part). */
export type ShownProvider = { provider: ProviderSummary; version: number };

export type IdentityProviderAdmin = ReturnType<typeof createIdentityProviderAdmin>;

// a provider's field, from the reader's path of the whole document
const fieldOf = (path: string) => path.replace(/^(ldap|saml\.idps|oidc\.providers)\[\d+\]\.?/, '') || 'body';

export function createIdentityProviderAdmin(d: {
  store: FederationDocumentStore;
  /** FEDERATION_FILE's providers (the default tenant's): shown, never written; null elsewhere */
  file: FederationConfig | null;
  /** names the settings in messages ("tenant acme") */
  source: string;
  /** OUTBOUND_PRIVATE_HOSTS: the private or loopback hosts an upstream may be at */
  privateHosts: readonly string[];
  /**
   * Builds the federation the stored providers `stored` would put in service, with provider `id` loaded
   * (its SAML metadata fetched, its issuer discovered), before a create or a replace is stored; throws
   * UpstreamUnusable. The server builds the whole federation (app/prove-federation.ts federationProver),
   * the CLI loads the written provider's upstream only (upstreamLoader); absent, nothing is loaded first.
   */
  prove?(stored: FederationConfig, id: string): Promise<void>;
}) {
  const fileProviders = providerSummaries(d.file);
  const isFiles = (id: string) => fileProviders.some((p) => p.id === id);

  function read(document: FederationDocument): FederationConfig {
    try {
      return readFederationSettings(document, { source: d.source, files: 'inline' });
    } catch (err) {
      if (err instanceof FederationFileError) throw new InvalidProviderInput(fieldOf(err.path), `expected ${err.accepted}`);
      throw err;
    }
  }

  /**
   * The checks beyond the reader's: an upstream at a private or loopback address literal is refused now
   * (a host name is refused at each request by the SSRF guard, federation/oidc/upstream-fetch.ts), and
   * no domain may be claimed by a provider of the file too.
   */
  function checkAgainstDeployment(config: FederationConfig, id: string): void {
    const allowed = new Set(d.privateHosts.map((h) => h.toLowerCase()));
    const urls: [string, string | undefined][] = [
      ...config.oidc.providers.filter((p) => p.id === id).flatMap((p): [string, string | undefined][] => [
        ['issuer', p.issuer], ['authorizationEndpoint', p.endpoints.authorization], ['tokenEndpoint', p.endpoints.token],
        ['userinfoEndpoint', p.endpoints.userinfo], ['emailsEndpoint', p.endpoints.emails],
      ]),
      ...config.saml.idps.filter((p) => p.id === id).map((p): [string, string | undefined] => ['metadata.url', 'url' in p.metadata ? p.metadata.url : undefined]),
    ];
    for (const [field, url] of urls) {
      if (!url) continue;
      const host = new URL(url).hostname.replace(/^\[|\]$/g, '').toLowerCase();
      const literal = host === 'localhost' ? '127.0.0.1' : host;
      if (/^[\d.]+$|:/.test(literal) && isSpecialUse(literal) && !allowed.has(host)) {
        throw new InvalidProviderInput(field, 'an upstream on a public address (a private, loopback or special-use address needs its host in OUTBOUND_PRIVATE_HOSTS)');
      }
    }
    for (const [domain, owner] of config.domainOwners) {
      const fileOwner = d.file?.domainOwners.get(domain);
      if (owner === id && fileOwner) throw new InvalidProviderInput('domains', `a domain no other provider claims (${fileOwner} of FEDERATION_FILE has ${domain})`);
    }
  }

  async function write(id: string, change: (doc: FederationDocument) => FederationDocument, expected?: number, o: { prove: boolean } = { prove: true }): Promise<ShownProvider | undefined> {
    const { document, version } = await d.store.load();
    if (expected !== undefined && expected !== version) throw new ProviderWriteRefused('stale', 'The identity provider changed since it was read; read it again.');
    const next = change(document);
    const config = read(next);
    checkAgainstDeployment(config, id);
    // built first, stored after: a provider that cannot be put in service is never stored (nor audited)
    if (o.prove) await d.prove?.(config, id);
    if (!(await d.store.save(next, version))) throw new ProviderWriteRefused('stale', 'The identity providers changed meanwhile; read again and retry.');
    const provider = stored(config).find((p) => p.id === id);
    return provider && { provider, version: version + 1 };
  }

  const stored = (config: FederationConfig): ProviderSummary[] => providerSummaries(config).map((p) => ({ ...p, source: 'api' as const }));

  async function list(): Promise<{ providers: ProviderSummary[]; version: number }> {
    const { document, version } = await d.store.load();
    return { providers: [...fileProviders, ...stored(read(document))], version };
  }

  return {
    list,
    /** exact id only: no case folding or trimming, as the ids are stored */
    async get(id: string): Promise<ShownProvider | undefined> {
      const { providers, version } = await list();
      const provider = providers.find((p) => p.id === id);
      return provider && { provider, version };
    },

    /** ProviderWriteRefused('exists') when the id is taken (here or in FEDERATION_FILE); InvalidProviderInput */
    async create(protocol: ProviderProtocol, body: Record<string, unknown>): Promise<ShownProvider> {
      const id = body.id;
      if (typeof id !== 'string') throw new InvalidProviderInput('id', 'a provider id (1 to 40 lower-case letters, digits or dashes)');
      if (isFiles(id)) throw new ProviderWriteRefused('exists', 'An identity provider of FEDERATION_FILE has this id.');
      const shown = await write(id, (doc) => {
        if (providerEntries(doc).some((p) => p.id === id)) throw new ProviderWriteRefused('exists', 'An identity provider with this id exists.');
        const next = withEntry(doc, protocol, entryOf(protocol, body));
        return protocol === 'ldap' ? withDirectoryOrdered(next, id) : next;
      });
      return shown!;
    },

    /** Replaces provider `id` (body.id, when given, must be the same); `expectedVersion` from its ETag. */
    async replace(id: string, protocol: ProviderProtocol, body: Record<string, unknown>, expectedVersion?: number): Promise<ShownProvider> {
      if (isFiles(id)) throw new ProviderWriteRefused('file', 'This identity provider is configured in FEDERATION_FILE; change it there.');
      if (body.id !== undefined && body.id !== id) throw new InvalidProviderInput('id', `the id of the provider being replaced (${id})`);
      const shown = await write(id, (doc) => {
        if (!providerEntries(doc).some((p) => p.id === id)) throw new ProviderWriteRefused('not_found', 'No identity provider has this id.');
        const next = withoutEntry(doc, id, { protocol, entry: entryOf(protocol, { ...body, id }) });
        return protocol === 'ldap' ? withDirectoryOrdered(next, id) : next;
      }, expectedVersion);
      return shown!;
    },

    async delete(id: string, expectedVersion?: number): Promise<ProviderSummary> {
      if (isFiles(id)) throw new ProviderWriteRefused('file', 'This identity provider is configured in FEDERATION_FILE; remove it there.');
      let gone: ProviderSummary | undefined;
      await write(id, (doc) => {
        if (!providerEntries(doc).some((p) => p.id === id)) throw new ProviderWriteRefused('not_found', 'No identity provider has this id.');
        gone = stored(read(doc)).find((p) => p.id === id);
        return withoutEntry(doc, id);
        // a removal needs no upstream: it is stored even while another provider's metadata is unreachable
      }, expectedVersion, { prove: false });
      return gone!;
    },
  };
}
