/**
 * The one schema: every durable record Gatehouse keeps, its table (or collection), columns, keys,
 * indexes and which of its fields are encrypted at rest. The SQLite and PostgreSQL DDL, the MongoDB
 * indexes, the row mappers of the SQL stores and the list of encrypted columns are all derived from
 * here (sqlite-schema.ts, postgres-schema.ts, mongodb-indexes.ts, row-mapper.ts), and
 * test/adapters/schema-catalog.test.ts compares the live SQLite and PostgreSQL catalogs with it.
 *
 * Column names are the record's field names in snake_case. A column type names what the value is;
 * each engine picks its own type for it (see SQL_TYPES in sql-ddl.ts).
 */
import { DEFAULT_TENANT } from './contract.js';
import type {
  AccountRecord,
  AccountTokenRecord,
  AuditEventRecord,
  ClientRecord,
  EncryptedSecretKind,
  FederatedLinkRecord,
  RecoveryCodeRecord,
  ResourceRecord,
  RoleRecord,
  SettingsRecord,
  SigningKeyRecord,
  TenantRecord,
  TotpFactorRecord,
  WebAuthnCredentialRecord,
  WebhookDeliveryRecord,
  WebhookEndpointRecord,
} from './contract.js';

/**
 * text; integer (32-bit); bigint (epoch milliseconds and counters); boolean; json (any JSON value:
 * jsonb, or JSON text in SQLite); list (of strings: text[], or a JSON array in SQLite); serial
 * (insertion order, generated: an identity column, or SQLite's rowid).
 */
export type ColumnType = 'text' | 'integer' | 'bigint' | 'boolean' | 'json' | 'list' | 'serial';

/** `default`: what the rows already there get when a migration adds the column (a text default is a word of lower-case letters and -) */
export type Column = { type: ColumnType; nullable?: true; default?: 0 | false | readonly [] | string };

export type Index = {
  name: string;
  columns: readonly string[];
  unique?: true;
  /** a partial index over the rows where this column is not null (MongoDB: where the field is a string) */
  whereNotNull?: string;
  /** MongoDB gets this index too, under this name (the names of existing MongoDB indexes are kept) */
  mongo?: string;
  /** MongoDB deletes documents by this (Date) field itself: expireAfterSeconds 0 */
  mongoTtl?: true;
  /** PostgreSQL: the operator class of every column (text_pattern_ops: LIKE 'prefix%' under any collation) */
  postgresOpclass?: 'text_pattern_ops';
  /** PostgreSQL: the index method, when not btree (gin: an array column's `@>` containment) */
  postgresMethod?: 'gin';
  /** an index of this engine only */
  only?: 'postgres';
  /**
   * not led by tenant_id: an index that serves a sweep across every tenant (expiry), which a tenant's
   * key would only get in the way of (see tenanted())
   */
  acrossTenants?: true;
};

export type Table = {
  name: string;
  columns: Readonly<Record<string, Column>>;
  primaryKey: readonly string[];
  indexes: readonly Index[];
  references?: { column: string; table: string; onDelete: 'cascade' };
  /** columns kept for lookups, computed from a field of the record by the mappers */
  computed?: Readonly<Record<string, { from: string; compute: (value: never) => unknown }>>;
  /** the column holding an at-rest ciphertext (src/keys/at-rest-cipher.ts), and which kind it is */
  encrypted?: { kind: EncryptedSecretKind; column: string };
};

const text: Column = { type: 'text' };
const textOrNull: Column = { type: 'text', nullable: true };
const time: Column = { type: 'bigint' };
const timeOrNull: Column = { type: 'bigint', nullable: true };

/** snake_case of a record's field name: the column that holds it. */
export const columnOf = (field: string) => field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** A record's columns, one per field, checked by the compiler against the record type (every field, no other). */
function fieldsOf<R>(fields: { [K in keyof R]-?: Column }): Record<string, Column> {
  return Object.fromEntries(Object.entries(fields as Record<string, Column>).map(([f, c]) => [columnOf(f), c]));
}

/**
 * The one rule for emails: unique and found case-insensitively, by the lower-cased address (as the
 * accounts service normalises it, src/accounts/accounts.ts). It is computed here, in JavaScript, for every
 * store alike, rather than by each database's own collation (SQLite's NOCASE folds ASCII only).
 */
export const emailKey = (email: string) => email.toLowerCase();

/**
 * The tables as they were before tenants (issue 15): the migrations that shipped before then build on
 * these, never on TABLES, so that an old database upgrades through the same steps it always did; the
 * tenants migration then turns each of them into its TABLES form.
 */
export const TABLES_BEFORE_TENANTS = {
  /** oidc-provider's artifacts and our own short-lived records (contract.ts: OidcModelStore, ShortLivedRecordStore) */
  oidcModels: {
    name: 'oidc_models',
    columns: {
      model: text, id: text, payload: { type: 'json' }, grant_id: textOrNull, user_code: textOrNull, uid: textOrNull,
      expires_at: timeOrNull, consumed_at: timeOrNull, account_id: textOrNull, client_id: textOrNull,
    },
    primaryKey: ['model', 'id'],
    indexes: [
      { name: 'oidc_models_grant_id', columns: ['grant_id'], whereNotNull: 'grant_id', mongo: 'grantId' },
      { name: 'oidc_models_uid', columns: ['model', 'uid'], whereNotNull: 'uid', mongo: 'model_uid' },
      { name: 'oidc_models_user_code', columns: ['model', 'user_code'], whereNotNull: 'user_code', mongo: 'model_userCode' },
      { name: 'oidc_models_expires_at', columns: ['expires_at'], whereNotNull: 'expires_at', mongo: 'expiresAt_ttl', mongoTtl: true, acrossTenants: true },
      { name: 'oidc_models_account_id', columns: ['account_id', 'model'], whereNotNull: 'account_id', mongo: 'accountId_model' },
      // OidcModelStore.findByClientId: a deleted client's grants (src/clients/client-registry.ts)
      { name: 'oidc_models_client_id', columns: ['client_id', 'model'], whereNotNull: 'client_id', mongo: 'clientId_model' },
    ],
  },
  accounts: {
    name: 'accounts',
    columns: {
      ...fieldsOf<Omit<AccountRecord, 'locale'>>({
        id: text, email: text, emailVerified: { type: 'boolean' }, name: textOrNull, passwordHash: textOrNull,
        roles: { type: 'list', default: [] }, createdAt: time, updatedAt: time, disabledAt: timeOrNull, lastLoginAt: timeOrNull,
      }),
      email_lower: text,
    },
    computed: { email_lower: { from: 'email', compute: emailKey } },
    primaryKey: ['id'],
    indexes: [
      { name: 'accounts_email_lower', columns: ['email_lower'], unique: true, mongo: 'emailLower_unique' },
      // AccountStore.list's email prefix search: a btree in the database's collation serves LIKE 'p%' only
      // when that collation is C; text_pattern_ops compares bytes, so it serves it under any collation.
      // (SQLite's email_lower is BINARY: the list adds a range on accounts_email_lower, account-list.ts.)
      { name: 'accounts_email_pattern', columns: ['email_lower'], postgresOpclass: 'text_pattern_ops', only: 'postgres' },
      // AccountStore.list: the page order, and the filters that narrow it most (MongoDB: mongodb-indexes.ts)
      { name: 'accounts_created', columns: ['created_at', 'id'] },
      { name: 'accounts_disabled', columns: ['disabled_at'], whereNotNull: 'disabled_at' },
      // status=disabled in page order: the few disabled rows, already sorted (the index above gives no order,
      // so the planner walked accounts_created over every active account instead)
      { name: 'accounts_disabled_created', columns: ['created_at', 'id'], whereNotNull: 'disabled_at' },
      { name: 'accounts_last_login', columns: ['last_login_at'], whereNotNull: 'last_login_at' },
      // AccountStore.list's role filter (`roles @> ARRAY[role]`, account-list.ts) and RoleStore.delete's
      // array_remove: a GIN index serves array containment, a btree does not. SQLite keeps roles as JSON
      // text, which no index can see into: its filter stays a scan of the page order.
      { name: 'accounts_roles', columns: ['roles'], postgresMethod: 'gin', only: 'postgres', acrossTenants: true },
    ],
  },
  clients: {
    name: 'clients',
    columns: fieldsOf<ClientRecord>({ clientId: text, metadata: { type: 'json' }, secretCiphertext: textOrNull, createdAt: time }),
    primaryKey: ['client_id'],
    indexes: [],
    encrypted: { kind: 'client-secret', column: 'secret_ciphertext' },
  },
  resources: {
    name: 'resources',
    columns: fieldsOf<ResourceRecord>({
      identifier: text, name: text, scopes: { type: 'json' }, accessTokenTtl: { type: 'integer' },
      // APIs registered before roles existed keep today's behaviour (contract.ts: ResourceRecord); the
      // stores always write both, so the defaults only fill the rows the migration found
      permissionsFromRoles: { type: 'boolean', default: false }, tokenClaims: { type: 'list', default: [] },
      createdAt: time,
    }),
    primaryKey: ['identifier'],
    indexes: [],
  },
  /** RoleStore (src/roles): a role's permissions are one JSON list of { resource, scope } */
  roles: {
    name: 'roles',
    columns: fieldsOf<RoleRecord>({
      name: text, description: text, permissions: { type: 'json' }, system: { type: 'boolean' }, createdAt: time, updatedAt: time,
    }),
    primaryKey: ['name'],
    indexes: [],
  },
  signingKeys: {
    name: 'signing_keys',
    columns: fieldsOf<SigningKeyRecord>({
      kid: text, alg: text, state: text, publicJwk: { type: 'json' }, privateJwkCiphertext: text,
      createdAt: time, activatesAt: timeOrNull, expiresAt: timeOrNull,
    }),
    primaryKey: ['kid'],
    indexes: [],
    encrypted: { kind: 'signing-key', column: 'private_jwk_ciphertext' },
  },
  totpFactors: {
    name: 'totp_factors',
    columns: fieldsOf<TotpFactorRecord>({
      accountId: text, secretCiphertext: text, confirmedAt: timeOrNull, lastUsedStep: { type: 'bigint', nullable: true }, createdAt: time,
    }),
    primaryKey: ['account_id'],
    indexes: [],
    encrypted: { kind: 'totp-secret', column: 'secret_ciphertext' },
  },
  webauthnCredentials: {
    name: 'webauthn_credentials',
    columns: fieldsOf<WebAuthnCredentialRecord>({
      id: text, accountId: text, name: text, publicKey: text, counter: { type: 'bigint' }, transports: { type: 'list' },
      deviceType: text, backedUp: { type: 'boolean' }, createdAt: time, lastUsedAt: timeOrNull,
    }),
    primaryKey: ['id'],
    indexes: [{ name: 'webauthn_credentials_account_id', columns: ['account_id'] }],
  },
  recoveryCodes: {
    name: 'recovery_codes',
    columns: fieldsOf<RecoveryCodeRecord>({ accountId: text, codeHash: text, usedAt: timeOrNull, createdAt: time }),
    primaryKey: ['account_id', 'code_hash'],
    indexes: [],
  },
  federatedLinks: {
    name: 'federated_links',
    columns: fieldsOf<FederatedLinkRecord>({ providerId: text, externalId: text, accountId: text, createdAt: time, lastLoginAt: time }),
    primaryKey: ['provider_id', 'external_id'],
    references: { column: 'account_id', table: 'accounts', onDelete: 'cascade' },
    indexes: [{ name: 'federated_links_account_id', columns: ['account_id'], mongo: 'accountId' }],
  },
  accountRoles: {
    name: 'account_roles',
    columns: { account_id: text, source: text, role: text },
    primaryKey: ['account_id', 'source', 'role'],
    references: { column: 'account_id', table: 'accounts', onDelete: 'cascade' },
    // AccountStore.list's role filter (the accounts a role reaches through a source) and RoleStore.delete
    indexes: [{ name: 'account_roles_role', columns: ['role', 'account_id'] }],
  },
  accountTokens: {
    name: 'account_tokens',
    columns: fieldsOf<AccountTokenRecord>({
      tokenHash: text, purpose: text, accountId: text, email: text, interactionUid: textOrNull,
      createdAt: time, expiresAt: time, consumedAt: timeOrNull, supersededAt: timeOrNull,
    }),
    primaryKey: ['token_hash'],
    indexes: [
      { name: 'account_tokens_account', columns: ['account_id', 'purpose'] },
      { name: 'account_tokens_expires_at', columns: ['expires_at'], mongo: 'expiresAt', acrossTenants: true },
    ],
  },
  passwordHistory: {
    name: 'password_history',
    columns: { seq: { type: 'serial' }, account_id: text, password_hash: text, created_at: time },
    primaryKey: ['seq'],
    indexes: [{ name: 'password_history_account', columns: ['account_id', 'seq'] }],
  },
  auditEvents: {
    name: 'audit_events',
    columns: {
      seq: { type: 'serial' },
      ...fieldsOf<AuditEventRecord>({
        id: text, time, type: text, result: text, accountId: textOrNull, clientId: textOrNull, ip: textOrNull,
        userAgent: textOrNull, requestId: textOrNull, reason: textOrNull, details: { type: 'json' },
      }),
    },
    primaryKey: ['id'],
    indexes: [
      { name: 'audit_events_time', columns: ['time', 'seq'] },
      { name: 'audit_events_account_time', columns: ['account_id', 'time', 'seq'], whereNotNull: 'account_id' },
    ],
  },
  /** rate-limiter-flexible's table layout (its RateLimiterSQLite/Postgres/Mongo), with a text key */
  rateLimits: {
    name: 'rate_limits',
    columns: { key: text, points: { type: 'integer', default: 0 }, expire: timeOrNull },
    primaryKey: ['key'],
    indexes: [{ name: 'rate_limits_expire', columns: ['expire'], whereNotNull: 'expire', mongo: 'expire_ttl', mongoTtl: true, acrossTenants: true }],
  },
  /** Store.tryLock */
  storeLocks: {
    name: 'store_locks',
    columns: { name: text, owner: text, expires_at: time },
    primaryKey: ['name'],
    indexes: [],
  },
  /** domain events written with their audit row, until fanned out into deliveries (src/events/) */
  eventOutbox: {
    name: 'event_outbox',
    columns: { seq: { type: 'serial' }, id: text, type: text, subject: text, time, body: text },
    primaryKey: ['seq'],
    indexes: [{ name: 'event_outbox_id', columns: ['id'], unique: true }],
  },
  webhookEndpoints: {
    name: 'webhook_endpoints',
    columns: fieldsOf<WebhookEndpointRecord>({
      id: text, url: text, description: text, eventTypes: { type: 'list' }, enabled: { type: 'boolean' }, secretsCiphertext: text,
      consecutiveFailures: { type: 'integer', default: 0 }, disabledReason: textOrNull, createdAt: time, updatedAt: time,
      format: { type: 'text', default: 'standard-webhooks' }, audience: textOrNull,
    }),
    primaryKey: ['id'],
    indexes: [],
    encrypted: { kind: 'webhook-secret', column: 'secrets_ciphertext' },
  },
  webhookDeliveries: {
    name: 'webhook_deliveries',
    columns: fieldsOf<WebhookDeliveryRecord>({
      id: text, endpointId: text, eventId: text, eventType: text, subject: text, eventSeq: { type: 'bigint' }, body: text, status: text,
      attempts: { type: 'integer' }, nextAttemptAt: time, leaseOwner: textOrNull, leaseUntil: timeOrNull, lastAttemptAt: timeOrNull,
      responseStatus: { type: 'integer', nullable: true }, durationMs: { type: 'integer', nullable: true }, error: textOrNull, createdAt: time,
    }),
    primaryKey: ['id'],
    indexes: [
      // a repeated fan-out of one event inserts nothing twice
      { name: 'webhook_deliveries_event', columns: ['endpoint_id', 'event_id'], unique: true, mongo: 'endpointId_eventId_unique' },
      // WebhookStore.claim: the due ones, and the earlier pending one of the same subject
      { name: 'webhook_deliveries_due', columns: ['status', 'next_attempt_at'], mongo: 'status_nextAttemptAt' },
      { name: 'webhook_deliveries_subject', columns: ['endpoint_id', 'subject', 'event_seq'], mongo: 'endpointId_subject_eventSeq' },
      { name: 'webhook_deliveries_recent', columns: ['endpoint_id', 'created_at'], mongo: 'endpointId_createdAt' },
    ],
  },
} as const satisfies Record<string, Table>;

/** The column every tenant's record carries (contract.ts: RootStore.forTenant); never a field of a record. */
export const TENANT_COLUMN = 'tenant_id';

/**
 * Tables whose rows belong to no tenant. Their keys carry the tenant instead: rate-limit counters and
 * lock names of a tenant other than the default start with `t:{tenant}:` (tenantKeyPrefix).
 */
const UNTENANTED: ReadonlySet<Table> = new Set([TABLES_BEFORE_TENANTS.rateLimits, TABLES_BEFORE_TENANTS.storeLocks]);

/** The prefix of a tenant's rate-limit keys and lock names ('' for the default tenant: its keys stay as they were). */
export const tenantKeyPrefix = (tenant: string) => (tenant === DEFAULT_TENANT ? '' : `t:${tenant}:`);

/**
 * A table with the tenant in its key and its indexes: tenant_id first in the primary key (except a sole
 * serial key, which is unique by itself) and in every index (except acrossTenants), and a reference to
 * an account is to the account of the same tenant. So a tenant's lookup is one index range, a unique
 * rule (one email per account) holds per tenant, and no row of one tenant can point at another's.
 */
function tenanted<const T extends Table>(t: T): T {
  if (UNTENANTED.has(t)) return t;
  const soleSerialKey = t.primaryKey.length === 1 && t.columns[t.primaryKey[0]!]?.type === 'serial';
  const table: Table = {
    ...t,
    columns: { [TENANT_COLUMN]: text, ...t.columns },
    primaryKey: soleSerialKey ? t.primaryKey : [TENANT_COLUMN, ...t.primaryKey],
    indexes: t.indexes.map((i) => (i.acrossTenants ? i : { ...i, columns: [TENANT_COLUMN, ...i.columns] })),
  };
  return table as T;
}

/** The registry of tenants (contract.ts: TenantStore). The default tenant is implicit: it has no row. */
const tenantsTable = {
  name: 'tenants',
  columns: fieldsOf<TenantRecord>({
    id: text, name: text, host: textOrNull, settings: { type: 'json' }, version: { type: 'bigint' }, createdAt: time, updatedAt: time,
  }),
  primaryKey: ['id'],
  // a host names one tenant (TenantStore.findByHost: the request's Host → its tenant)
  indexes: [{ name: 'tenants_host', columns: ['host'], unique: true, whereNotNull: 'host', mongo: 'host_unique' }],
} as const satisfies Table;

const TENANTED = Object.fromEntries(Object.entries(TABLES_BEFORE_TENANTS).map(([k, t]) => [k, tenanted(t)])) as typeof TABLES_BEFORE_TENANTS;

/** SettingsStore: named settings a tenant changes at run time (the default tenant's upstream providers); added after tenants */
const settingsRecordsTable = tenanted({
  name: 'settings_records',
  columns: fieldsOf<SettingsRecord>({ name: text, value: text, version: { type: 'bigint' }, updatedAt: time }),
  primaryKey: ['name'],
  indexes: [],
} as const satisfies Table);

export const TABLES = {
  ...TENANTED,
  // since the tenants (SQLite and PostgreSQL migration 12): the person's language (issue 20)
  accounts: { ...TENANTED.accounts, columns: { ...TENANTED.accounts.columns, ...fieldsOf<Pick<AccountRecord, 'locale'>>({ locale: textOrNull }) } },
  tenants: tenantsTable,
  settingsRecords: settingsRecordsTable,
};

/** What migration 12 adds to accounts. */
export const ACCOUNT_LOCALE_COLUMNS = ['locale'] as const;

/** True when the table's rows belong to a tenant (a tenant_id column leads its key). */
export const isTenanted = (t: Table) => TENANT_COLUMN in t.columns;

export const ALL_TABLES: readonly Table[] = Object.values(TABLES);

/** Every table whose rows a tenant owns: a deleted tenant's rows go from each (TenantStore.delete). */
export const TENANT_OWNED_TABLES: readonly Table[] = ALL_TABLES.filter(isTenanted);

/**
 * The tables whose rows belong to one account and go when it is erased (AccountStore.delete): every
 * table with an account_id, except oidc-provider's artifacts (sign-out-everywhere ends those, telling the
 * apps) and the audit log (kept, pseudonymised).
 */
export const ACCOUNT_OWNED_TABLES: readonly Table[] = ALL_TABLES.filter(
  (t) => 'account_id' in t.columns && t !== TABLES.oidcModels && t !== TABLES.auditEvents,
);

/** The order `EncryptedSecretStore.list()` has always listed them in. */
const ENCRYPTED_ORDER: readonly EncryptedSecretKind[] = ['signing-key', 'client-secret', 'totp-secret', 'webhook-secret'];

export type EncryptedColumn = { table: string; id: string; column: string; field: string };

/** Where each kind of encrypted value lives: table, key column, ciphertext column (and the MongoDB field). */
export const ENCRYPTED_COLUMNS = Object.fromEntries(
  ENCRYPTED_ORDER.map((kind) => {
    const table = ALL_TABLES.find((t) => t.encrypted?.kind === kind)!;
    const column = table.encrypted!.column;
    return [kind, { table: table.name, id: table.primaryKey.find((c) => c !== TENANT_COLUMN)!, column, field: column.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()) }];
  }),
) as Record<EncryptedSecretKind, EncryptedColumn>;
