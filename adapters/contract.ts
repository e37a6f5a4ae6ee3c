/**
 * The storage interfaces. Everything Gatehouse keeps goes through these; each adapter file
 * (sqlite.ts, postgres.ts, mongodb.ts, redis.ts) implements some or all of them. Services declare
 * the narrow slice they use (e.g. `Pick<AccountStore, 'findById'>`) rather than taking `Store`.
 */

/** oidc-provider's artifacts (sessions, interactions, codes, tokens, grants...), keyed by model name. */
export type OidcPayload = Record<string, unknown> & {
  grantId?: string;
  userCode?: string;
  uid?: string;
  consumed?: number;
};

export interface OidcModelStore {
  upsert(model: string, id: string, payload: OidcPayload, expiresInSeconds: number | undefined): Promise<void>;
  find(model: string, id: string): Promise<OidcPayload | undefined>;
  findByUid(model: string, uid: string): Promise<OidcPayload | undefined>;
  findByUserCode(model: string, userCode: string): Promise<OidcPayload | undefined>;
  /**
   * Marks the record consumed. Atomic: returns true for exactly one caller, however many race;
   * false when it was already consumed (or does not exist).
   */
  consume(model: string, id: string): Promise<boolean>;
  destroy(model: string, id: string): Promise<void>;
  /** Removes every artifact that carries this grantId, of every model, and only those. */
  revokeByGrantId(grantId: string): Promise<void>;
}

export type AccountRecord = {
  id: string;
  email: string;
  emailVerified: boolean;
  name: string | null;
  passwordHash: string | null;
  createdAt: number;
  updatedAt: number;
};

export interface AccountStore {
  /** Fails with `DuplicateError` when the email is taken (emails are compared lower-cased). */
  create(account: AccountRecord): Promise<void>;
  findById(id: string): Promise<AccountRecord | undefined>;
  findByEmail(email: string): Promise<AccountRecord | undefined>;
  update(id: string, changes: Partial<Omit<AccountRecord, 'id' | 'createdAt'>>): Promise<void>;
  count(): Promise<number>;
}

/** A registered client: its OIDC metadata, with the secret encrypted at rest (never in `metadata`). */
export type ClientRecord = {
  clientId: string;
  metadata: Record<string, unknown>;
  secretCiphertext: string | null;
  createdAt: number;
};

export interface ClientStore {
  create(client: ClientRecord): Promise<void>;
  find(clientId: string): Promise<ClientRecord | undefined>;
  list(): Promise<ClientRecord[]>;
  delete(clientId: string): Promise<void>;
}

/** An API (resource server) that receives JWT access tokens (RFC 8707 resource indicator + RFC 9068). */
export type ResourceRecord = {
  identifier: string;
  name: string;
  /** scope → plain-words description shown on the consent page */
  scopes: Record<string, string>;
  accessTokenTtl: number;
  createdAt: number;
};

export interface ResourceStore {
  create(resource: ResourceRecord): Promise<void>;
  find(identifier: string): Promise<ResourceRecord | undefined>;
  list(): Promise<ResourceRecord[]>;
}

/** next: published, not yet signing; current: signs; retired: published until its tokens expire. */
export type SigningKeyState = 'next' | 'current' | 'retired';

export type SigningKeyRecord = {
  kid: string;
  alg: string;
  state: SigningKeyState;
  publicJwk: Record<string, unknown>;
  privateJwkCiphertext: string;
  createdAt: number;
  /** when it starts (next) / started (current) signing */
  activatesAt: number | null;
  /** when a retired key is removed from the JWKS */
  expiresAt: number | null;
};

export interface SigningKeyStore {
  list(): Promise<SigningKeyRecord[]>;
  save(key: SigningKeyRecord): Promise<void>;
  delete(kid: string): Promise<void>;
}

/** Counters for throttling, shaped for rate-limiter-flexible's store limiters. */
export type RateLimiterOptions = { keyPrefix: string; points: number; duration: number; blockDuration: number };

export interface Store {
  readonly kind: string;
  oidc: OidcModelStore;
  accounts: AccountStore;
  clients: ClientStore;
  resources: ResourceStore;
  signingKeys: SigningKeyStore;
  /** A rate limiter whose counters live in this store (so limits hold across replicas). */
  rateLimiter(options: RateLimiterOptions): import('rate-limiter-flexible').RateLimiterAbstract;
  /** Deletes expired records; returns how many. */
  sweepExpired(): Promise<number>;
  /** Throws when the store cannot serve requests (used by /health/ready). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export class DuplicateError extends Error {
  constructor(readonly what: string) {
    super(`${what} already exists`);
  }
}
