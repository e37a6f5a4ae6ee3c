/**
 * Registered clients. Metadata is validated by oidc-provider itself (`Client.validate`), so a client the
 * CLI accepts is one the provider accepts. Generated secrets are 256-bit random values, stored encrypted
 * (AES-256-GCM) and shown once; they are compared by oidc-provider in constant time, never bcrypt'ed on
 * the token endpoint's path.
 */
import { randomBytes } from 'node:crypto';
import type { ClientStore } from '../../adapters/contract.js';
import type { AtRestCipher } from '../keys/at-rest-cipher.js';
import { parseClientScope, providerView, requireScopeForClientCredentials } from './client-scope.js';

/** token endpoint auth methods that need a shared secret (RFC 7591 §2) */
const SECRET_METHODS = new Set(['client_secret_basic', 'client_secret_post', 'client_secret_jwt']);

/** the shortest operator-supplied client secret accepted */
export const MIN_SUPPLIED_SECRET = 32;

/** An operator-supplied client secret that is refused (too short, or for a client that has none). */
export class InvalidClientSecret extends Error {}

export type ClientMetadata = Record<string, unknown> & { client_id: string };
export type ClientValidator = (metadata: Record<string, unknown>) => Promise<void>;

export type ClientRegistry = ReturnType<typeof createClientRegistry>;

export function createClientRegistry(deps: {
  clients: ClientStore;
  cipher: AtRestCipher;
  validate: ClientValidator;
  /** the scopes oidc-provider defines (OpenID Connect's); every other registered scope value is an API scope */
  oidcScopes: ReadonlySet<string>;
}) {
  const { clients, cipher, validate, oidcScopes } = deps;
  // The token endpoint reads the client on every request: decrypt each stored secret once, not per request.
  // Keyed by ciphertext, so a changed secret is a new entry; bounded, so it cannot grow without limit.
  const secrets = new Map<string, string>();
  const decryptSecret = (ciphertext: string): string => {
    let secret = secrets.get(ciphertext);
    if (secret === undefined) {
      secret = cipher.decrypt(ciphertext);
      if (secrets.size >= 1000) secrets.delete(secrets.keys().next().value as string);
      secrets.set(ciphertext, secret);
    }
    return secret;
  };
  return {
    /** Registers a client; returns its metadata with the generated secret, the only time it is shown. */
    async create(input: Record<string, unknown>): Promise<ClientMetadata> {
      const { client_secret: supplied, ...requested } = input;
      const metadata: ClientMetadata = {
        ...requested,
        client_id: typeof input.client_id === 'string' && input.client_id ? input.client_id : randomBytes(16).toString('base64url'),
      };
      requireScopeForClientCredentials(metadata);
      const method = (metadata.token_endpoint_auth_method as string | undefined) ?? 'client_secret_basic';
      // An operator-supplied secret (a migration from another provider) is kept, stored encrypted like a
      // generated one; it must be at least as long as RFC 7518 §3.2 asks of an HS256 key (32 octets).
      if (supplied !== undefined) {
        if (!SECRET_METHODS.has(method)) throw new InvalidClientSecret(`client_secret: a client with token_endpoint_auth_method ${method} has no secret`);
        if (typeof supplied !== 'string' || [...supplied].length < MIN_SUPPLIED_SECRET || /[^\x21-\x7e]/.test(supplied)) {
          throw new InvalidClientSecret(`client_secret: expected at least ${MIN_SUPPLIED_SECRET} printable ASCII characters without spaces`);
        }
      }
      const secret = SECRET_METHODS.has(method) ? (supplied as string | undefined) ?? randomBytes(32).toString('base64url') : undefined;
      const shown = providerView(metadata, oidcScopes);
      await validate(secret ? { ...shown, client_secret: secret } : shown);
      await clients.create({
        clientId: metadata.client_id,
        metadata,
        secretCiphertext: secret ? cipher.encrypt(secret) : null,
        createdAt: Date.now(),
      });
      return secret ? { ...metadata, client_secret: secret } : metadata;
    },

    list: () => clients.list(),

    /** What oidc-provider's Client model reads: the metadata with the secret decrypted, in memory only. */
    async findForProvider(clientId: string): Promise<Record<string, unknown> | undefined> {
      const record = await clients.find(clientId);
      if (!record) return undefined;
      const shown = providerView(record.metadata, oidcScopes);
      return record.secretCiphertext ? { ...shown, client_secret: decryptSecret(record.secretCiphertext) } : shown;
    },

    /**
     * Sets (or, with an empty value, removes) a client's registered `scope`, keeping its id, secret and other
     * metadata: how a client registered before API scopes failed closed gets its API scopes back. The new
     * metadata is validated by oidc-provider before the stored record is replaced.
     */
    async setScope(clientId: string, scope: string): Promise<ClientMetadata | undefined> {
      const record = await clients.find(clientId);
      if (!record) return undefined;
      const { scope: _old, ...rest } = record.metadata;
      const values = parseClientScope(scope);
      const metadata = (values?.size ? { ...rest, scope: [...values].join(' ') } : rest) as ClientMetadata;
      requireScopeForClientCredentials(metadata);
      const shown = providerView(metadata, oidcScopes);
      await validate(record.secretCiphertext ? { ...shown, client_secret: decryptSecret(record.secretCiphertext) } : shown);
      // The store has no update: replace the record, same id, secret ciphertext and creation time.
      await clients.delete(clientId);
      await clients.create({ ...record, metadata });
      return metadata;
    },

    /**
     * The scope values the client registered (RFC 7591 §2); empty when it registered none, so that such a
     * client gets no API scope (fail closed) rather than every scope of every API.
     */
    async registeredScope(clientId: string): Promise<Set<string>> {
      const record = await clients.find(clientId);
      return (record && parseClientScope(record.metadata.scope)) || new Set();
    },
  };
}
