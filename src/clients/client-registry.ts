/**
 * Registered clients. Metadata is validated by oidc-provider itself (`Client.validate`), so a client the
 * CLI accepts is one the provider accepts. Generated secrets are 256-bit random values, stored encrypted
 * (AES-256-GCM) and shown once; they are compared by oidc-provider in constant time, never bcrypt'ed on
 * the token endpoint's path.
 */
import { randomBytes } from 'node:crypto';
import { timingSafeEqual } from 'node:crypto';
import { type ClientStore, type OidcModelStore, type ShortLivedRecordStore } from '../../adapters/contract.js';
import { recordedIfDone, type AuditLog, type RecordedAs } from '../audit/audit-log.js';
import type { AtRestCipher } from '../keys/at-rest-cipher.js';
import { DEFAULT_RESOURCE, InvalidClientScope, parseClientScope, providerView, requireScopeForClientCredentials } from './client-scope.js';
import { checkSelfServiceMetadata } from './dynamic-registration.js';

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
  /** whether an API (resource indicator) is registered: `gatehouse_default_resource` must name one */
  resourceExists?(identifier: string): Promise<boolean>;
  /** where a rotated-out secret waits out its overlap window (expires by itself) */
  records?: Pick<ShortLivedRecordStore, 'upsert' | 'find' | 'consume'>;
  /** oidc-provider's stored artifacts: a deleted client's grants and tokens go with it */
  artifacts: Pick<OidcModelStore, 'findByClientId' | 'revokeByGrantId' | 'destroy'>;
  /** records a change's audit event with its write, as one unit; without it, changes are not recorded here */
  audit?: Pick<AuditLog, 'recordChange'>;
}) {
  const { clients, cipher, validate, oidcScopes } = deps;
  const recordChange = <T>(change: () => Promise<T>, recorded: RecordedAs<T> | undefined) =>
    deps.audit ? deps.audit.recordChange(change, recorded) : change();
  const requireRegisteredDefaultResource = async (metadata: Record<string, unknown>) => {
    const api = metadata[DEFAULT_RESOURCE];
    if (typeof api === 'string' && deps.resourceExists && !(await deps.resourceExists(api))) {
      throw new InvalidClientScope(`${DEFAULT_RESOURCE}: ${JSON.stringify(api)} is not a registered API (gatehouse resources list)`);
    }
  };
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
  const registry = {
    /** Registers a client; returns its metadata with the generated secret, the only time it is shown. */
    /** `recorded`'s event is built from the new client's id */
    async create(input: Record<string, unknown>, recorded?: RecordedAs<string>): Promise<ClientMetadata> {
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
      await requireRegisteredDefaultResource(metadata);
      const record = { clientId: metadata.client_id, metadata, secretCiphertext: secret ? cipher.encrypt(secret) : null, createdAt: Date.now() };
      await recordChange(async () => {
        await clients.create(record);
        return record.clientId;
      }, recorded);
      return secret ? { ...metadata, client_secret: secret } : metadata;
    },

    /**
     * Stores a client oidc-provider registered or updated (RFC 7591 / 7592, via the adapter's Client model),
     * as `create` stores one: the secret oidc-provider generated encrypted, the metadata without it. The
     * provider has validated the metadata; the registry's own rules are applied here, before anything is
     * written (client_credentials needs `scope`; only self-service gatehouse_* properties).
     */
    async saveRegistered(payload: Record<string, unknown>): Promise<void> {
      const { client_secret: secret, registration_access_token: _t, registration_client_uri: _u, ...rest } = payload;
      const clientId = rest.client_id;
      if (typeof clientId !== 'string' || !clientId) throw new Error('a registered client has a client_id');
      const metadata = rest as ClientMetadata;
      checkSelfServiceMetadata(metadata);
      requireScopeForClientCredentials(metadata);
      const existing = await clients.find(clientId);
      const record = {
        clientId,
        metadata,
        secretCiphertext: typeof secret === 'string' && secret ? cipher.encrypt(secret) : null,
        createdAt: existing?.createdAt ?? Date.now(),
      };
      // RFC 7592 §2.2: an update changes the record in place, in one write; a new registration is created
      // (and never replaces a client it collides with: DuplicateError)
      if (existing && (await clients.update(clientId, { metadata: record.metadata, secretCiphertext: record.secretCiphertext }))) return;
      await clients.create(record);
    },

    /**
     * Deletes a client (the API, the CLI, and RFC 7592 §2.3 when a client deletes its own registration)
     * with every grant people gave it and every token issued to it: RFC 7592 §2.3 "the authorization
     * server ... SHOULD immediately invalidate all existing authorization grants and currently-active
     * tokens associated with this client". The client goes first, so nothing new is issued to it meanwhile.
     */
    async delete(clientId: string, recorded?: RecordedAs<void>): Promise<void> {
      await recordChange(() => clients.delete(clientId), recorded);
      const { artifacts } = deps;
      for (const grant of await artifacts.findByClientId('Grant', clientId)) {
        if (typeof grant.jti !== 'string') continue;
        // every code, access and refresh token of the grant, on both sides of a split store
        await artifacts.revokeByGrantId(grant.jti);
        await artifacts.destroy('Grant', grant.jti);
      }
      // tokens of no grant: client_credentials access tokens and the registration access token (RFC 7592)
      for (const model of ['ClientCredentials', 'RegistrationAccessToken']) {
        for (const token of await artifacts.findByClientId(model, clientId)) {
          if (typeof token.jti === 'string') await artifacts.destroy(model, token.jti);
        }
      }
    },

    list: () => clients.list(),

    find: (clientId: string) => clients.find(clientId),

    /**
     * Replaces a client's metadata (all of it but client_id), validated exactly as at creation: the
     * registry's rules, then oidc-provider's. The secret is kept unless the new auth method has none.
     */
    async replaceMetadata(clientId: string, requested: Record<string, unknown>, recorded?: RecordedAs<boolean>): Promise<ClientMetadata | undefined> {
      const record = await clients.find(clientId);
      if (!record) return undefined;
      const { client_secret: _s, client_id: _id, ...rest } = requested;
      const metadata: ClientMetadata = { ...rest, client_id: clientId };
      requireScopeForClientCredentials(metadata);
      const method = (metadata.token_endpoint_auth_method as string | undefined) ?? 'client_secret_basic';
      const hasSecret = SECRET_METHODS.has(method);
      let secretCiphertext = hasSecret ? record.secretCiphertext : null;
      let generated: string | undefined;
      // a client that moves to a secret-based method from one without gets a new secret, shown once
      if (hasSecret && !secretCiphertext) {
        generated = randomBytes(32).toString('base64url');
        secretCiphertext = cipher.encrypt(generated);
      }
      const shown = providerView(metadata, oidcScopes);
      const secret = generated ?? (secretCiphertext ? decryptSecret(secretCiphertext) : undefined);
      await validate(secret ? { ...shown, client_secret: secret } : shown);
      await requireRegisteredDefaultResource(metadata);
      if (!(await recordChange(() => clients.update(clientId, { metadata, secretCiphertext }), recordedIfDone(recorded)))) return undefined;
      return generated ? { ...metadata, client_secret: generated } : metadata;
    },

    /**
     * Changes some of a client's metadata (a JSON merge patch, RFC 7396: null removes a member), validated
     * as at creation (replaceMetadata). client_id and client_secret are not metadata one patches: the
     * secret changes by rotateSecret. The management API's PATCH and `gatehouse clients update` call this.
     */
    async patchMetadata(clientId: string, patch: Record<string, unknown>, recorded?: RecordedAs<boolean>): Promise<ClientMetadata | undefined> {
      const fixed = ['client_id', 'client_secret'].filter((k) => k in patch);
      if (fixed.length > 0) throw new InvalidClientSecret(`${fixed.join(', ')}: cannot be changed by an update (rotate the secret instead)`);
      const record = await clients.find(clientId);
      if (!record) return undefined;
      const merged: Record<string, unknown> = { ...record.metadata };
      for (const [k, v] of Object.entries(patch)) {
        if (v === null) delete merged[k];
        else merged[k] = v;
      }
      return registry.replaceMetadata(clientId, merged, recorded);
    },

    /**
     * A new generated secret for a client that has one; returned once (undefined: no such client). With
     * `overlapSeconds`, the old secret keeps working that long (so the client's replicas can be rolled),
     * kept encrypted in a short-lived record that expires by itself.
     */
    async rotateSecret(clientId: string, o: { overlapSeconds?: number } = {}, recorded?: RecordedAs<boolean>): Promise<{ client_secret: string; previous_valid_until?: number } | undefined> {
      const record = await clients.find(clientId);
      if (!record) return undefined;
      if (!record.secretCiphertext) throw new InvalidClientSecret('client_secret: this client authenticates without a secret');
      const overlap = o.overlapSeconds ?? 0;
      if (overlap > 0) {
        if (!deps.records) throw new Error('rotateSecret with an overlap needs the short-lived record store');
        await deps.records.upsert('ClientPreviousSecret', clientId, { ciphertext: record.secretCiphertext }, overlap);
      } else {
        // a rotation without overlap also ends the window of an earlier one
        await deps.records?.consume('ClientPreviousSecret', clientId);
      }
      const secret = randomBytes(32).toString('base64url');
      if (!(await recordChange(() => clients.update(clientId, { metadata: record.metadata, secretCiphertext: cipher.encrypt(secret) }), recordedIfDone(recorded)))) return undefined;
      return { client_secret: secret, ...(overlap > 0 ? { previous_valid_until: Date.now() + overlap * 1000 } : {}) };
    },

    /**
     * The current secret when `presented` is the client's previous one, still in its overlap window
     * (compared in constant time); undefined otherwise. How the token endpoint honours the old secret.
     */
    async currentSecretForPrevious(clientId: string, presented: string): Promise<string | undefined> {
      const previous = await deps.records?.find('ClientPreviousSecret', clientId);
      if (typeof previous?.ciphertext !== 'string' || previous.consumed) return undefined;
      let old: Buffer;
      try {
        old = Buffer.from(decryptSecret(previous.ciphertext));
      } catch {
        // encrypted under a key since dropped from KEY_ENCRYPTION_KEYS (reencrypt does not reach these short-lived records)
        return undefined;
      }
      const given = Buffer.from(presented);
      if (old.length !== given.length || !timingSafeEqual(old, given)) return undefined;
      const record = await clients.find(clientId);
      return record?.secretCiphertext ? decryptSecret(record.secretCiphertext) : undefined;
    },

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
    async setScope(clientId: string, scope: string, recorded?: RecordedAs<boolean>): Promise<ClientMetadata | undefined> {
      const record = await clients.find(clientId);
      if (!record) return undefined;
      const { scope: _old, ...rest } = record.metadata;
      const values = parseClientScope(scope);
      const metadata = (values?.size ? { ...rest, scope: [...values].join(' ') } : rest) as ClientMetadata;
      requireScopeForClientCredentials(metadata);
      const shown = providerView(metadata, oidcScopes);
      await validate(record.secretCiphertext ? { ...shown, client_secret: decryptSecret(record.secretCiphertext) } : shown);
      if (!(await recordChange(() => clients.update(clientId, { metadata, secretCiphertext: record.secretCiphertext }), recordedIfDone(recorded)))) return undefined;
      return metadata;
    },

    /**
     * Sets (or, with an empty list, removes) the APIs whose tokens a client may introspect as their resource
     * server (`gatehouse_introspects`, RFC 7662 §2.1), keeping its id, secret and other metadata; validated
     * by oidc-provider before the stored record is replaced.
     */
    async setIntrospects(clientId: string, resources: string[]): Promise<ClientMetadata | undefined> {
      const record = await clients.find(clientId);
      if (!record) return undefined;
      const { gatehouse_introspects: _old, ...rest } = record.metadata;
      const metadata = (resources.length ? { ...rest, gatehouse_introspects: [...new Set(resources)] } : rest) as ClientMetadata;
      const shown = providerView(metadata, oidcScopes);
      await validate(record.secretCiphertext ? { ...shown, client_secret: decryptSecret(record.secretCiphertext) } : shown);
      if (!(await clients.update(clientId, { metadata, secretCiphertext: record.secretCiphertext }))) return undefined;
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
  return registry;
}
