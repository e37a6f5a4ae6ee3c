/**
 * The storage interfaces. Everything Gatehouse keeps goes through these; each adapter (sqlite*.ts,
 * postgres*.ts, mongodb*.ts, redis.ts) implements some or all of them, on the tables and indexes of the
 * one schema (record-schema.ts). Services declare the narrow slice they use (e.g.
 * `Pick<AccountStore, 'findById'>`) rather than taking `Store`.
 */

/** oidc-provider's artifacts (sessions, interactions, codes, tokens, grants...), keyed by model name. */
export type OidcPayload = Record<string, unknown> & {
  grantId?: string;
  userCode?: string;
  uid?: string;
  consumed?: number;
};

/**
 * The grant an oidc-provider record belongs to, which revokeByGrantId removes it with: the payload's
 * grantId, except an Interaction's. An interaction names the grant it may extend without being part of
 * it: when another person signs in on the browser (prompt=login), oidc-provider ends the first person's
 * session (revoking that grant) and then resumes that very interaction, which must still be there.
 */
export function grantOf(model: string, payload: OidcPayload): string | null {
  return model === 'Interaction' ? null : (payload.grantId ?? null);
}

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
  /** Removes every artifact of this grant (grantOf), of every model, and only those. */
  revokeByGrantId(grantId: string): Promise<void>;
  /**
   * The live (unexpired) records of one model whose payload has this `accountId` (sessions and grants,
   * for the account pages), each with its `consumed` state like `find`.
   */
  findByAccountId(model: string, accountId: string): Promise<OidcPayload[]>;
  /**
   * The live records of one model whose payload has this `clientId` (a deleted client's grants, whose
   * artifacts revokeByGrantId then removes), each with its `consumed` state like `find`.
   */
  findByClientId(model: string, clientId: string): Promise<OidcPayload[]>;
  /** How many live (unexpired) records of one model there are, consumed or not (the console's active sessions). */
  countLive(model: string): Promise<number>;
}

/**
 * Short-lived records of our own (not oidc-provider models): each kind, what it is for, and how long
 * it lives. Every one expires (its TTL is required) and is worthless after it does, so with REDIS_URL
 * they live in Redis with oidc-provider's short-lived models (split-store.ts), and in the durable
 * database otherwise, in the same table as those models under the kind as model name.
 */
export const SHORT_LIVED_RECORDS = {
  /** a WebAuthn ceremony's challenge (src/factors/webauthn.ts): the ceremony's timeout, consumed by its answer */
  WebAuthnChallenge: 'the ceremony timeout (5 minutes); consumed once',
  /** an AuthnRequest we sent, by its ID (src/federation/saml/saml-logins.ts): saml.requestTtl; consumed by its response */
  SamlRequest: 'saml.requestTtl; consumed once by the response',
  /** the RelayState of a pending AuthnRequest: as long as the request */
  SamlRelayState: 'saml.requestTtl; consumed with the request',
  /** an assertion ID seen once (SAML profiles §4.1.4.5): until the assertion itself expires */
  SamlAssertion: 'until the assertion expires (NotOnOrAfter)',
  /** a verified SAML identity parked for the interaction to collect: two minutes; collected once */
  SamlLogin: 'two minutes; consumed once',
  /** a client's secret before a rotation, by client_id (src/clients/client-registry.ts): the overlap window the operator chose */
  ClientPreviousSecret: 'the rotation overlap window; never consumed',
  /** a SAML sign-in (IdP, NameID, SessionIndex) by interaction uid, until the session it completes exists (src/federation/saml/saml-sessions.ts): one hour; consumed then */
  SamlSessionPending: 'one hour; consumed when the session is created',
  /** the SAML sign-in of a Gatehouse session, by the session's uid: the session's lifetime (renewed with it); consumed by RP-initiated logout */
  SamlSession: 'the session lifetime (SESSION_TTL), renewed with the session; consumed at logout',
  /** a LogoutRequest we sent, by its RelayState (src/federation/saml/sp-logout.ts): saml.requestTtl; consumed by its LogoutResponse */
  SamlLogoutRequest: 'saml.requestTtl; consumed once by the LogoutResponse',
  /** a sign-in sent to an OIDC / OAuth 2.0 upstream, by its state (src/federation/oidc/oidc-logins.ts): interaction uid, PKCE verifier, nonce; oidc.stateTtl; consumed by the callback */
  OidcUpstreamState: 'oidc.stateTtl; consumed once by the callback',
  /** a verified upstream identity parked for the interaction to collect: two minutes; collected once */
  OidcUpstreamLogin: 'two minutes; consumed once',
  /** an upstream identity waiting for the person to prove the local account it would link to (password): ten minutes; consumed by the link */
  OidcLinkPending: 'ten minutes; consumed once by the link',
  /** the upstream sign-in (provider, id_token) of a Gatehouse session, by interaction uid then by session uid, for upstream logout */
  OidcUpstreamSession: 'the session lifetime; consumed at logout',
  /** a trusted upstream's acr (src/federation/oidc/upstream-acr.ts), by interaction uid then by session uid, for the ID token's upstream_acr */
  OidcUpstreamAcr: 'one hour by interaction, then the session lifetime',
} as const;

export type ShortLivedRecordKind = keyof typeof SHORT_LIVED_RECORDS;

export type ShortLivedRecord = Record<string, unknown> & {
  /** set (epoch seconds) once the record was consumed */
  consumed?: number;
};

export interface ShortLivedRecordStore {
  /** Saves (or replaces) the record; it expires `ttlSeconds` (at least 1) from now, always. */
  upsert(kind: ShortLivedRecordKind, id: string, record: Record<string, unknown>, ttlSeconds: number): Promise<void>;
  /** The record until it expires, with `consumed` once it was. */
  find(kind: ShortLivedRecordKind, id: string): Promise<ShortLivedRecord | undefined>;
  /** Atomic: true for exactly one caller, however many race; false when already consumed, expired or missing. */
  consume(kind: ShortLivedRecordKind, id: string): Promise<boolean>;
}

export type AccountRecord = {
  id: string;
  email: string;
  emailVerified: boolean;
  name: string | null;
  passwordHash: string | null;
  /** Names an operator assigns (CLI `users roles`); policies such as MFA_REQUIRED_ROLES read them. */
  roles: string[];
  createdAt: number;
  updatedAt: number;
  /** when an operator disabled the account (it cannot sign in by any method); null while it is active */
  disabledAt: number | null;
  /** the last successful sign-in, by any method; null before the first */
  lastLoginAt: number | null;
  /** the person's language for pages and mail (a supported locale such as `de`); null: none chosen */
  locale?: string | null;
};

export type AccountStatus = 'active' | 'disabled';

/**
 * One page of accounts, oldest first (createdAt, then id: a stable order, so paging while accounts are
 * created meanwhile neither repeats nor skips one). Every given filter must match. The query is an object
 * so that a tenant (issue 15) can join it without reshaping callers.
 */
export type AccountListQuery = {
  /** 1..1000 */
  limit: number;
  /** `next` of the previous page (opaque) */
  cursor?: string | null;
  /** the lower-cased email starts with this (compared lower-cased) */
  emailPrefix?: string;
  /** the name contains this, ignoring letter case */
  name?: string;
  status?: AccountStatus;
  /** holds this role, set on the account or granted by an upstream provider */
  role?: string;
  /** createdAt >= createdAfter (epoch ms) */
  createdAfter?: number;
  /** createdAt < createdBefore (epoch ms) */
  createdBefore?: number;
  /** lastLoginAt >= lastLoginAfter (epoch ms) */
  lastLoginAfter?: number;
  /** lastLoginAt < lastLoginBefore (epoch ms) */
  lastLoginBefore?: number;
};

export type AccountPage = { accounts: AccountRecord[]; next: string | null };

/** A cursor that no list() ever returned (tampered with, or from another kind of list). */
export class InvalidCursorError extends Error {
  constructor() {
    super('cursor: not a cursor this list returned');
  }
}

export interface AccountStore {
  /** Fails with `DuplicateError` when the email is taken (emails are compared lower-cased). */
  create(account: AccountRecord): Promise<void>;
  findById(id: string): Promise<AccountRecord | undefined>;
  findByEmail(email: string): Promise<AccountRecord | undefined>;
  update(id: string, changes: Partial<Omit<AccountRecord, 'id' | 'createdAt'>>): Promise<void>;
  /**
   * Adds the role to the account's direct roles (kept sorted, no duplicates) or removes it, in one atomic
   * step: of operators assigning different roles at once none is lost (a read-then-write of the whole
   * list would keep only the last), and of many adding the same role exactly one gets true. True when
   * the account's roles changed; false when it already had (or lacked) it, or does not exist.
   */
  changeRole(id: string, role: string, add: boolean): Promise<boolean>;
  count(): Promise<number>;
  list(query: AccountListQuery): Promise<AccountPage>;
  /**
   * Erases the account and every record that is only its own, in one step: its factors (TOTP, WebAuthn,
   * recovery codes), federated links, roles from upstream providers, mailed-link tokens and password
   * history (record-schema.ts: ACCOUNT_OWNED_TABLES). Not oidc-provider's artifacts (end them with
   * sign-out-everywhere first) nor the audit log (AuditStore.pseudonymise). False when it did not exist.
   */
  delete(id: string): Promise<boolean>;
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
  /**
   * Changes a client's metadata and secret ciphertext in place, in one write (its id and creation time
   * stay); false when no client has this id. No window where the client is missing, unlike delete + create.
   */
  update(clientId: string, changes: Pick<ClientRecord, 'metadata' | 'secretCiphertext'>): Promise<boolean>;
  delete(clientId: string): Promise<void>;
}

/** An API (resource server) that receives JWT access tokens (RFC 8707 resource indicator + RFC 9068). */
export type ResourceRecord = {
  identifier: string;
  name: string;
  /** scope → plain-words description shown on the consent page */
  scopes: Record<string, string>;
  accessTokenTtl: number;
  /**
   * A person's tokens for this API carry only the scopes their roles grant (src/roles). On for APIs
   * registered since roles exist; APIs registered before keep false until an operator turns it on.
   */
  permissionsFromRoles: boolean;
  /** opt-in claims of this API's access tokens: `roles` (the person's role names), `permissions` (its scopes they hold) */
  tokenClaims: ResourceTokenClaim[];
  createdAt: number;
};

export type ResourceTokenClaim = 'roles' | 'permissions';

export interface ResourceStore {
  create(resource: ResourceRecord): Promise<void>;
  find(identifier: string): Promise<ResourceRecord | undefined>;
  list(): Promise<ResourceRecord[]>;
  /** Changes an API in place (all but identifier and createdAt); false when no API has this identifier. */
  update(identifier: string, changes: Pick<ResourceRecord, 'name' | 'scopes' | 'accessTokenTtl' | 'permissionsFromRoles' | 'tokenClaims'>): Promise<boolean>;
}

/** What a role allows: one scope of one API (resource indicator). */
export type RolePermission = { resource: string; scope: string };

/**
 * A named set of permissions (src/roles). Assigned to accounts directly (AccountRecord.roles) or by an
 * upstream provider's group mapping (FederationStore.setRoles). System roles are created at start-up
 * and cannot be deleted.
 */
export type RoleRecord = {
  /** letters, digits and `_ . : -`, at most 64; compared exactly */
  name: string;
  description: string;
  /** distinct, in (resource, scope) code-point order */
  permissions: RolePermission[];
  system: boolean;
  createdAt: number;
  updatedAt: number;
};

export interface RoleStore {
  /** Fails with `DuplicateError('role')` when the name is taken. */
  create(role: RoleRecord): Promise<void>;
  find(name: string): Promise<RoleRecord | undefined>;
  /** The roles among these names that exist, in name order: one indexed read (the token endpoint calls it). */
  findMany(names: readonly string[]): Promise<RoleRecord[]>;
  /** every role, in name (code-point) order */
  list(): Promise<RoleRecord[]>;
  /**
   * Replaces description and permissions. With `expectedUpdatedAt`, only when the stored updatedAt is
   * that value (optimistic concurrency, If-Match); false when no such role or the value differs.
   */
  update(name: string, changes: Pick<RoleRecord, 'description' | 'permissions' | 'updatedAt'>, expectedUpdatedAt?: number): Promise<boolean>;
  /**
   * Deletes the role and every assignment of it (AccountRecord.roles of every account, and the
   * per-source roles of FederationStore), atomically where the store has transactions; false when no
   * such role.
   */
  delete(name: string): Promise<boolean>;
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
  /** Stores a new key; for a kid already stored, changes only state, activatesAt and expiresAt. */
  save(key: SigningKeyRecord): Promise<void>;
  /**
   * Changes the life-cycle fields of a stored key; false (and nothing stored) when the kid is gone. The
   * key ring writes its decisions with this, so a decision made on rows read before a `keys revoke`
   * deleted a key never brings that key back.
   */
  update(kid: string, changes: Pick<SigningKeyRecord, 'state' | 'activatesAt' | 'expiresAt'>): Promise<boolean>;
  delete(kid: string): Promise<void>;
}

/** The values stored encrypted with the at-rest cipher (src/keys/at-rest-cipher.ts), by what they are. */
export type EncryptedSecretKind = 'signing-key' | 'client-secret' | 'totp-secret' | 'webhook-secret';

/** id: the signing key's kid, the client_id, the TOTP factor's account id, the webhook endpoint's id. */
export type EncryptedSecret = { kind: EncryptedSecretKind; id: string; ciphertext: string };

/**
 * Every value encrypted at rest, for re-encrypting them under a new KEY_ENCRYPTION_KEYS key
 * (`gatehouse keys reencrypt`). The adapter owns where each kind lives; the cipher stays outside.
 */
export interface EncryptedSecretStore {
  /** Every stored ciphertext: private signing keys, client secrets (clients that have one), TOTP secrets. */
  list(): Promise<EncryptedSecret[]>;
  /**
   * Compare-and-set: stores `next` only while the stored ciphertext is still `previous`, and touches
   * nothing else of the record. False when it changed meanwhile (a TOTP re-enrolment) or is gone (a key
   * deleted), so a write racing the re-encryption is never overwritten.
   */
  replace(kind: EncryptedSecretKind, id: string, previous: string, next: string): Promise<boolean>;
}

/** Counters for throttling, shaped for rate-limiter-flexible's store limiters. */
export type RateLimiterOptions = { keyPrefix: string; points: number; duration: number; blockDuration: number };

/**
 * Single-use links sent by email (verify the address, reset the password). Only the SHA-256 of the token
 * is stored; the token itself exists in the mail and nowhere else.
 */
export type AccountTokenPurpose = 'verify-email' | 'reset-password' | 'change-email';

export type AccountTokenRecord = {
  /** base64url SHA-256 of the token */
  tokenHash: string;
  purpose: AccountTokenPurpose;
  accountId: string;
  /** the address the link was sent to (a verification only counts for the address it was sent to; for
   * change-email, the new address it proves) */
  email: string;
  /** the interaction the person came from, to continue to the app afterwards */
  interactionUid: string | null;
  createdAt: number;
  expiresAt: number;
  consumedAt: number | null;
  /** set when a newer token of the same purpose was issued for the account */
  supersededAt: number | null;
};

export interface AccountTokenStore {
  /** Saves the token and marks every earlier unconsumed token of the same purpose and account superseded, atomically. */
  issue(token: AccountTokenRecord): Promise<void>;
  /** The record, whatever its state, until it is swept (kept a while past expiry so a late click gets a clear answer). */
  find(tokenHash: string): Promise<AccountTokenRecord | undefined>;
  /** Atomic: true for exactly one caller, and only while the token is unconsumed, not superseded and not expired at `now`. */
  consume(tokenHash: string, now: number): Promise<boolean>;
  /** Marks every unconsumed token of this purpose for the account superseded (e.g. after a password change). */
  supersedeAll(accountId: string, purpose: AccountTokenPurpose, now: number): Promise<void>;
  /** Deletes records that expired before `time`; returns how many. */
  deleteExpiredBefore(time: number): Promise<number>;
}

/** Earlier password hashes of an account, for the no-reuse rule and password age. */
export type PasswordHistoryEntry = { passwordHash: string; createdAt: number };

export interface PasswordHistoryStore {
  /** Records a password just set, then keeps only the `keep` most recent entries of the account. */
  add(accountId: string, entry: PasswordHistoryEntry, keep: number): Promise<void>;
  /** The most recent entries first, at most `limit`. */
  recent(accountId: string, limit: number): Promise<PasswordHistoryEntry[]>;
}

/** One security event. No secrets: never a password, token, code or cookie. */
export type AuditEventRecord = {
  id: string;
  time: number;
  /** dotted name, e.g. `login.failure`, `password.reset`, `grant.revoked` */
  type: string;
  result: 'success' | 'failure';
  accountId: string | null;
  clientId: string | null;
  ip: string | null;
  userAgent: string | null;
  /** the request id (X-Request-Id), to find the matching log lines */
  requestId: string | null;
  /** why it failed, or what happened, in a word or two (e.g. `wrong_password`, `locked_out`) */
  reason: string | null;
  details: Record<string, unknown>;
};

/** An audit event and the domain event it caused, if any: one entry of AuditStore.appendAll. */
export type AuditEntry = { event: AuditEventRecord; outbox?: OutboxEventRecord };

export type AuditQuery = { accountId?: string; since?: number; until?: number; types?: string[]; limit?: number };

export interface AuditStore {
  /**
   * Stores the event; with `outbox`, the domain event it caused too, atomically where the store has
   * transactions (SQLite, PostgreSQL), in the same document on MongoDB (see WebhookStore).
   */
  append(event: AuditEventRecord, outbox?: OutboxEventRecord): Promise<void>;
  /**
   * Stores many events at once (the audit log's group commit, src/audit/audit-log.ts): one transaction
   * on SQLite, one statement on PostgreSQL, one insertMany on MongoDB. All or none where the store has
   * transactions; on MongoDB, in order until the first failure.
   */
  appendAll(entries: readonly AuditEntry[]): Promise<void>;
  /** Oldest first, filtered by every given field; `types` entries ending in `.` match a prefix (`login.`). */
  query(q: AuditQuery): Promise<AuditEventRecord[]>;
  /**
   * Erasure: the account's events are kept under `pseudonym` instead of its id, with the fields that
   * could name the person (IP, user agent, details) emptied. Returns how many events it changed.
   */
  pseudonymise(accountId: string, pseudonym: string): Promise<number>;
  /** Deletes events older than `time`; returns how many (the retention sweep). */
  deleteOlderThan(time: number): Promise<number>;
}

export interface Store {
  readonly kind: string;
  oidc: OidcModelStore;
  /** Our own short-lived records (SHORT_LIVED_RECORDS), never oidc-provider's. */
  records: ShortLivedRecordStore;
  accounts: AccountStore;
  clients: ClientStore;
  resources: ResourceStore;
  roles: RoleStore;
  signingKeys: SigningKeyStore;
  /** The ciphertexts of signing keys, client secrets and TOTP secrets, across their tables. */
  encryptedSecrets: EncryptedSecretStore;
  factors: FactorStore;
  /** Upstream federation: identity links and directory/IdP roles (see FederationStore). */
  federation: FederationStore;
  accountTokens: AccountTokenStore;
  passwordHistory: PasswordHistoryStore;
  audit: AuditStore;
  /** A rate limiter whose counters live in this store (so limits hold across replicas). */
  rateLimiter(options: RateLimiterOptions): import('rate-limiter-flexible').RateLimiterAbstract;
  /** Deletes expired records; returns how many. */
  sweepExpired(): Promise<number>;
  /** Throws when the store cannot serve requests (used by /health/ready). */
  ping(): Promise<void>;
  close(): Promise<void>;
  /**
   * Takes (or renews) the named lock for `ttlSeconds` when it is free, expired or already `owner`'s.
   * Atomic across replicas: of several callers racing for a free lock, exactly one gets true. There is
   * no release; the lock lapses, so a crashed holder cannot block the others for longer than the TTL.
   */
  tryLock(name: string, ttlSeconds: number, owner: string): Promise<boolean>;
  /** Webhook endpoints, the outbox of domain events and their deliveries (src/events/). */
  webhooks: WebhookStore;
  /**
   * A unit of work: every write `work` makes through this store (any tenant's handle of it) is kept
   * together, or none is when it throws: a change and the audit row and outbox event it causes, so a
   * crash between them cannot keep the change and lose its event (src/events/). A unit inside a unit
   * joins it. SQLite and PostgreSQL run it as one transaction; MongoDB and Redis have none, there the
   * writes are made one by one (the README says what that means for events). Give it store calls only:
   * on SQLite the other requests wait while it runs. On PostgreSQL a write that fails inside a unit
   * fails the whole unit, even when the work catches its error (the transaction ends at the first
   * error): a caller that means to go on after an error (a DuplicateError, say) writes outside the unit.
   */
  atomically<T>(work: () => Promise<T>): Promise<T>;
  /** Runs `fn` once the open unit has committed, never when it rolled back; at once outside a unit. */
  afterCommit(fn: () => void): void;
  /** Named settings this tenant changes at run time (SettingsStore). */
  settings: SettingsStore;
}

/**
 * One named settings text of a tenant, changed at run time by a door (the management API, the CLI)
 * rather than by the deployment's configuration: the default tenant's upstream providers written
 * through /admin/v1/identity-providers (a tenant's own are in its registry row). `version` is 1 when
 * first written and one more on every write, so replicas compare it to know their copy is stale.
 */
export type SettingsRecord = { name: string; value: string; version: number; updatedAt: number };

export interface SettingsStore {
  find(name: string): Promise<SettingsRecord | undefined>;
  /**
   * Writes `value` while the stored version is `expectedVersion` (0: none is stored yet), atomically
   * across replicas. The record as stored; undefined when another write came first.
   */
  save(name: string, value: string, expectedVersion: number, updatedAt: number): Promise<SettingsRecord | undefined>;
}

export class DuplicateError extends Error {
  constructor(readonly what: string) {
    super(`${what} already exists`);
  }
}

/** A TOTP authenticator (RFC 6238). One per account; `confirmedAt` is null while enrolment is pending. */
export type TotpFactorRecord = {
  accountId: string;
  /** the base32 shared secret, encrypted with the at-rest cipher */
  secretCiphertext: string;
  confirmedAt: number | null;
  /** the last RFC 6238 time step accepted, so each code is accepted once */
  lastUsedStep: number | null;
  createdAt: number;
};

/** A WebAuthn public-key credential (security key or passkey). */
export type WebAuthnCredentialRecord = {
  /** the credential ID, base64url */
  id: string;
  accountId: string;
  /** the person's own name for it */
  name: string;
  /** COSE public key, base64url */
  publicKey: string;
  /** WebAuthn §6.1.1 signature counter, as last seen */
  counter: number;
  transports: string[];
  /** 'singleDevice' (device-bound) or 'multiDevice' (synced passkey) */
  deviceType: string;
  backedUp: boolean;
  createdAt: number;
  lastUsedAt: number | null;
};

/** A single-use recovery code, stored as a SHA-256 hash (the codes are 80-bit random values). */
export type RecoveryCodeRecord = { accountId: string; codeHash: string; usedAt: number | null; createdAt: number };

export interface FactorStore {
  findTotp(accountId: string): Promise<TotpFactorRecord | undefined>;
  /** Inserts or replaces the account's TOTP factor. */
  saveTotp(factor: TotpFactorRecord): Promise<void>;
  /**
   * Records `step` as used. Atomic: true only when it is later than the last used step of a confirmed
   * factor (so one code is accepted once, however many requests race).
   */
  useTotpStep(accountId: string, step: number): Promise<boolean>;
  /**
   * Confirms the pending enrolment created at `createdAt`, recording `step` as used. Atomic, and it writes
   * nothing else: false when that enrolment is gone, replaced or already confirmed (so a confirmation never
   * puts back a secret that was re-enrolled or re-encrypted meanwhile).
   */
  confirmTotp(accountId: string, createdAt: number, confirmedAt: number, step: number): Promise<boolean>;
  deleteTotp(accountId: string): Promise<void>;

  listWebAuthn(accountId: string): Promise<WebAuthnCredentialRecord[]>;
  findWebAuthn(credentialId: string): Promise<WebAuthnCredentialRecord | undefined>;
  /** Fails with `DuplicateError` when the credential ID is registered already. */
  createWebAuthn(credential: WebAuthnCredentialRecord): Promise<void>;
  /**
   * Stores the counter after a successful assertion. Atomic: false when another request already stored
   * a counter at least as high (a replayed or cloned authenticator), unless both are 0 (no counter).
   */
  recordWebAuthnUse(credentialId: string, counter: number, usedAt: number): Promise<boolean>;
  /** true when the account's credential existed */
  deleteWebAuthn(accountId: string, credentialId: string): Promise<boolean>;

  /** Replaces every recovery code of the account with these hashes. */
  replaceRecoveryCodes(accountId: string, codeHashes: string[], createdAt: number): Promise<void>;
  /** Marks the code used. Atomic: true exactly once for an unused code of this account. */
  useRecoveryCode(accountId: string, codeHash: string, usedAt: number): Promise<boolean>;
  countUnusedRecoveryCodes(accountId: string): Promise<number>;
  deleteRecoveryCodes(accountId: string): Promise<void>;
}

/**
 * An account's identity at an upstream provider (an LDAP directory or a SAML IdP): the pair
 * (providerId, externalId) is unique and points at one account. externalId is the provider's stable id
 * for the person: the directory's entryUUID (or objectGUID), the IdP's persistent NameID.
 */
export type FederatedLinkRecord = {
  providerId: string;
  externalId: string;
  accountId: string;
  createdAt: number;
  lastLoginAt: number;
};

/**
 * Federated identity links, and the roles an upstream provider grants an account. Roles are kept per
 * source (the provider id) in their own table, apart from AccountRecord: each login replaces the roles
 * that provider granted and leaves roles from other sources alone.
 */
export interface FederationStore {
  findLink(providerId: string, externalId: string): Promise<FederatedLinkRecord | undefined>;
  /** Fails with `DuplicateError` when (providerId, externalId) is already linked. */
  createLink(link: FederatedLinkRecord): Promise<void>;
  touchLink(providerId: string, externalId: string, lastLoginAt: number): Promise<void>;
  linksOf(accountId: string): Promise<FederatedLinkRecord[]>;
  /** Replaces the roles `source` grants the account (an empty list removes them). */
  setRoles(accountId: string, source: string, roles: string[]): Promise<void>;
  /** Every role the account holds, from every source: distinct and sorted. */
  rolesOf(accountId: string): Promise<string[]>;
  /** The roles each source grants the account, as (source, role) pairs in (source, role) order. */
  sourcedRolesOf(accountId: string): Promise<{ source: string; role: string }[]>;
  /** Deletes the account's link (account, provider, external id); false when there was none. */
  removeLink(accountId: string, providerId: string, externalId: string): Promise<boolean>;
}

/** A domain event waiting in the outbox (src/events/event-catalogue.ts), written with its audit row. */
export type OutboxEventRecord = {
  /** `msg_...`: the webhook-id every delivery of it carries (Standard Webhooks: receivers drop duplicates by it) */
  id: string;
  /** `user.created`, ... */
  type: string;
  /** whose event it is (the account, client or key): deliveries of one subject go out in order */
  subject: string;
  time: number;
  /** the JSON payload, exactly as it is sent */
  body: string;
};

export type WebhookEndpointRecord = {
  id: string;
  url: string;
  description: string;
  /** the event types it receives; empty: every type */
  eventTypes: string[];
  enabled: boolean;
  /** the signing secrets (current first, then one in its overlap), JSON encrypted with the at-rest cipher */
  secretsCiphertext: string;
  /** failed attempts in a row; at WEBHOOK_DISABLE_AFTER the endpoint is disabled */
  consecutiveFailures: number;
  disabledReason: string | null;
  createdAt: number;
  updatedAt: number;
  /**
   * How its deliveries are sent: `standard-webhooks` (the JSON body, signed with the secrets), or
   * `security-event-token` (RFC 8417 Security Event Tokens pushed per RFC 8935, signed with the issuer's key)
   */
  format: WebhookFormat;
  /** a security-event-token endpoint's `aud` (the receiver's identifier); null for standard-webhooks */
  audience: string | null;
};

export type WebhookFormat = 'standard-webhooks' | 'security-event-token';

export type WebhookDeliveryStatus = 'pending' | 'succeeded' | 'failed';

/** One event for one endpoint: its attempts so far and the last one's outcome. */
export type WebhookDeliveryRecord = {
  id: string;
  endpointId: string;
  eventId: string;
  eventType: string;
  subject: string;
  /** the event's place in the outbox: deliveries of one (endpoint, subject) go out in this order */
  eventSeq: number;
  body: string;
  status: WebhookDeliveryStatus;
  attempts: number;
  nextAttemptAt: number;
  /** the replica holding it while it sends (a lease: another takes over after leaseUntil) */
  leaseOwner: string | null;
  leaseUntil: number | null;
  lastAttemptAt: number | null;
  responseStatus: number | null;
  durationMs: number | null;
  error: string | null;
  createdAt: number;
};

export type WebhookDeliveryOutcome = Pick<WebhookDeliveryRecord, 'status' | 'attempts' | 'nextAttemptAt' | 'lastAttemptAt' | 'responseStatus' | 'durationMs' | 'error'>;

/**
 * The outbox and the deliveries. An event waits in the outbox until one replica (holding the
 * `webhook-fanout` lock) turns it into one delivery per subscribed endpoint and removes it, in one
 * transaction (a repeated fan-out inserts nothing twice: (endpoint, event) is unique). Deliveries are
 * claimed with a lease, so each is sent by one replica at a time; a replica that dies loses its lease.
 */
export interface WebhookStore {
  createEndpoint(e: WebhookEndpointRecord): Promise<void>;
  findEndpoint(id: string): Promise<WebhookEndpointRecord | undefined>;
  listEndpoints(): Promise<WebhookEndpointRecord[]>;
  /** false when it does not exist */
  updateEndpoint(id: string, patch: Partial<Omit<WebhookEndpointRecord, 'id' | 'createdAt'>>): Promise<boolean>;
  /** Deletes it with its deliveries; false when it did not exist. */
  deleteEndpoint(id: string): Promise<boolean>;
  /** Counts a failed attempt (returns the count in a row) or resets the count after a success. */
  countFailure(endpointId: string): Promise<number>;
  resetFailures(endpointId: string): Promise<void>;

  /** The oldest events still in the outbox, with their order. */
  outbox(limit: number): Promise<(OutboxEventRecord & { seq: number })[]>;
  /** Inserts the deliveries of the events (those already there are kept) and removes them from the outbox. */
  fanOut(batch: { eventId: string; deliveries: WebhookDeliveryRecord[] }[]): Promise<void>;
  /** Inserts deliveries straight away (a test event for one endpoint, no outbox). */
  enqueue(deliveries: WebhookDeliveryRecord[]): Promise<void>;
  /**
   * Leases up to `limit` due deliveries of enabled endpoints to `owner` until `leaseUntil`: per
   * (endpoint, subject) only the earliest pending one, so a subject's events go out in order.
   */
  claim(owner: string, now: number, leaseUntil: number, limit: number): Promise<WebhookDeliveryRecord[]>;
  /** Records an attempt's outcome, if `owner` still holds the lease; false otherwise. */
  settle(id: string, owner: string, outcome: WebhookDeliveryOutcome): Promise<boolean>;
  findDelivery(id: string): Promise<WebhookDeliveryRecord | undefined>;
  /** The endpoint's deliveries, newest first. */
  listDeliveries(endpointId: string, limit: number): Promise<WebhookDeliveryRecord[]>;
  /** Puts a delivery back to pending, due now; false when it does not exist. */
  redeliver(id: string, now: number): Promise<boolean>;
  /** Deletes the settled (succeeded or failed) deliveries created before `time`; returns how many. */
  deleteSettledBefore(time: number): Promise<number>;
  /**
   * Erasure: deletes the settled deliveries whose payload names this account (`"user_id":"<id>"`);
   * pending ones stay, so receivers still hear what happened (user.deleted among them). Returns how many.
   */
  deleteSettledOfAccount(accountId: string): Promise<number>;
}

/** How an event payload (src/events/event-message.ts: JSON.stringify of its data) names an account. */
export const accountNeedle = (accountId: string) => `"user_id":${JSON.stringify(accountId)}`;

/** The tenant every deployment has: today's URLs and data. It has no row in the registry and cannot be deleted. */
export const DEFAULT_TENANT = 'default';

/**
 * A tenant id: a DNS label (RFC 1035 §2.3.1, lower case), so it reads the same in a path (/t/{id}), a
 * host name and a storage key. `default` is the default tenant's.
 */
export const TENANT_ID_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** One tenant of the registry (src/tenants/): its own issuer, keys, users, clients, policy and branding. */
export type TenantRecord = {
  id: string;
  name: string;
  /** its own host name, lower case (issuer https://{host}); null: it lives at {ISSUER}/t/{id} */
  host: string | null;
  /** policy and branding, as src/tenants/ validated them */
  settings: Record<string, unknown>;
  /** 1 at creation, one more on every change: a replica compares it to know its cached copy is stale */
  version: number;
  createdAt: number;
  updatedAt: number;
};

export type TenantPage = { tenants: TenantRecord[]; next: string | null };

export interface TenantStore {
  /** Fails with `DuplicateError('tenant')` when the id or the host is taken. */
  create(tenant: TenantRecord): Promise<void>;
  find(id: string): Promise<TenantRecord | undefined>;
  /** The tenant of this (lower-case) host name. */
  findByHost(host: string): Promise<TenantRecord | undefined>;
  /** One page in id (code-point) order; `after` is the previous page's `next`. limit: 1..1000. */
  list(query: { limit: number; after?: string | null }): Promise<TenantPage>;
  /**
   * Replaces name, host and settings and adds one to the version. With `expectedVersion`, only while the
   * stored version is that (If-Match). The record as stored; undefined when there is no such tenant or
   * its version differs. Fails with `DuplicateError('tenant')` when the host is another tenant's.
   */
  update(id: string, changes: Pick<TenantRecord, 'name' | 'host' | 'settings' | 'updatedAt'>, expectedVersion?: number): Promise<TenantRecord | undefined>;
  /**
   * Removes the tenant with every record it owns, in every table, collection and key space (its
   * rate-limit counters and locks included), atomically where the store has transactions. False when
   * there was no such tenant (its records, if any, are removed all the same). Never the default tenant.
   */
  delete(id: string): Promise<boolean>;
  count(): Promise<number>;
}

/**
 * What openStore() returns: the default tenant's store (every consumer that knows no tenant keeps
 * working unchanged), the registry of tenants, and the same store bound to any other tenant.
 */
export interface RootStore extends Store {
  tenants: TenantStore;
  /**
   * This store bound to one tenant: every method reads and writes that tenant's records only, so code
   * holding the handle cannot reach another tenant's by forgetting a filter. It shares the root's
   * connections and statements (cheap: make one per request if you like); its close() does nothing.
   * forTenant(DEFAULT_TENANT) is the root itself. The sweeps of the root (sweepExpired,
   * accountTokens.deleteExpiredBefore) cover every tenant, those of a tenant's handle that tenant; ping
   * is the same everywhere.
   */
  forTenant(id: string): Store;
}
