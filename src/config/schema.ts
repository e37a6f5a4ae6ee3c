/**
 * Every Gatehouse setting, with its default and a one-line description. This table is the single source:
 * `load-config.ts` validates against it and `npm run config-table` prints the README's table from it.
 */
import * as p from './parsers.js';
import { federationFile } from './federation/federation-file.js';
import { LOCALES } from '../i18n/locale-list.js';

export type SettingSpec<T> = {
  description: string;
  /** The raw default, as an operator would write it; `''` means "unset" (see `derive`). */
  default: string;
  /** A default computed from other settings, described for the README. */
  derive?: { text: string; value(c: Partial<Record<string, unknown>>): string };
  parser: p.Parser<T>;
  /** Secrets are never echoed back in error messages or logs. */
  secret?: boolean;
};

const setting = <T>(s: SettingSpec<T>): SettingSpec<T> => s;

/** Development-only cookie key; production refuses it (see `checkProduction`). */
export const DEV_COOKIE_KEY = 'gatehouse-development-cookie-key-do-not-use-in-production';

export const settings = {
  NODE_ENV: setting({
    description: '`production` turns on the production checks and Secure cookies; `development` seeds a demo client and user',
    default: 'development',
    parser: p.oneOf('development', 'production', 'test'),
  }),
  CONFIG_FILE: setting({
    description: 'Optional JSON file with any of these settings as keys; environment variables win over it',
    default: '',
    parser: p.text(1000),
  }),
  HOST: setting({ description: 'Interface to listen on', default: '0.0.0.0', parser: p.text(255) }),
  PORT: setting({ description: 'TCP port to listen on (0 picks a free one)', default: '3000', parser: p.integer(0, 65535) }),
  METRICS_PORT: setting({
    description: 'A separate TCP port for /metrics (then not served on PORT); 0 serves /metrics on PORT',
    default: '0',
    parser: p.integer(0, 65535),
  }),
  METRICS_TOKEN: setting({
    description: 'When set, /metrics requires `Authorization: Bearer <token>` (at least 32 characters); empty: no token',
    default: '',
    parser: {
      accepted: 'empty, or a token of at least 32 characters without spaces',
      parse(raw) {
        if (raw !== '' && !/^[^\s]{32,512}$/.test(raw)) throw new p.SettingValueError('empty, or a token of at least 32 characters without spaces');
        return raw;
      },
    },
    secret: true,
  }),
  WORKERS: setting({
    description:
      'Processes serving PORT together (Node cluster), each a full Gatehouse on the same store; set it to the number of cores to use them all',
    default: '1',
    parser: p.integer(1, 64),
  }),
  ISSUER: setting({
    description: 'The issuer identifier: the public base URL relying parties see (https in production); with a path (https://example.com/auth) every page and endpoint lives under it',
    default: '',
    derive: { text: '`http://localhost:PORT`', value: (c) => `http://localhost:${String(c.PORT)}` },
    parser: p.issuerUrl,
  }),
  TRUST_PROXY: setting({
    description: 'Trust X-Forwarded-Proto/For from a reverse proxy that terminates TLS',
    default: 'false',
    parser: p.boolean,
  }),
  TRUST_PROXY_HOPS: setting({
    description: 'With TRUST_PROXY, how many proxies in front of Gatehouse append to X-Forwarded-For: the client IP is that many entries from the right, entries left of it are ignored',
    default: '1',
    parser: p.integer(1, 10),
  }),
  DATABASE_URL: setting({
    description: 'Durable store: `sqlite:<file>` (embedded default), `postgres://...` or `mongodb://...`',
    default: 'sqlite:./data/gatehouse.db',
    parser: p.connectionUrl(['sqlite', 'postgres', 'postgresql', 'mongodb', 'mongodb+srv']),
    secret: true,
  }),
  REDIS_URL: setting({
    description:
      'Optional Redis for sessions, interactions, codes and login throttles (native TTLs): `redis://`, `rediss://`, `redis+sentinel://` or `redis+cluster://`',
    default: '',
    parser: p.redisUrl,
    secret: true,
  }),
  COOKIE_KEYS: setting({
    description: 'Comma-separated keys that sign cookies (first signs, all verify); at least 32 characters each',
    default: DEV_COOKIE_KEY,
    parser: p.secretList(32),
    secret: true,
  }),
  KEY_ENCRYPTION_KEYS: setting({
    description:
      'Comma-separated base64 32-byte AES-256-GCM keys that encrypt private signing keys, client secrets and TOTP secrets at rest (first encrypts, all decrypt). Required in production; in development one is generated under keys/',
    default: '',
    parser: { accepted: p.aesKeyList.accepted, parse: (raw) => (raw.trim() === '' ? [] : p.aesKeyList.parse(raw)) },
    secret: true,
  }),
  PAIRWISE_SALT: setting({
    description:
      'Secret (at least 32 characters) keying the pairwise `sub` of clients with `subject_type: pairwise`; the same on every replica. In production, pairwise subjects are offered only when it is set; changing it changes every pairwise `sub`',
    default: '',
    parser: {
      accepted: 'empty, or a secret of at least 32 characters',
      parse(raw) {
        if (raw !== '' && raw.length < 32) throw new p.SettingValueError('empty, or a secret of at least 32 characters');
        return raw;
      },
    },
    secret: true,
  }),
  KEY_ROTATION_INTERVAL: setting({ description: 'How long a signing key signs before the next one takes over (scheduled rotation)', default: '30d', parser: p.duration(3600, 31536000) }),
  KEY_PUBLISH_AHEAD: setting({
    description: 'How long a new signing key is published in the JWKS before it signs; the JWKS max-age is this minus KEY_REFRESH_INTERVAL',
    default: '1h',
    parser: p.duration(60, 604800),
  }),
  KEY_REFRESH_INTERVAL: setting({ description: 'How often each replica reloads the signing keys from the store (bound on picking up a rotation)', default: '60s', parser: p.duration(1, 3600) }),
  ALLOW_INSECURE: setting({
    description: 'Let production start with an http issuer or the development cookie key (never do this on a network)',
    default: 'false',
    parser: p.boolean,
  }),
  OUTBOUND_PRIVATE_HOSTS: setting({
    description: 'Hosts of relying parties on an internal network that back-channel logout (and other outbound requests) may reach although they resolve to loopback or private addresses; all others are refused (SSRF protection)',
    default: '',
    parser: p.hostList,
  }),
  ACCESS_TOKEN_TTL: setting({ description: 'Access token lifetime (default for APIs without their own)', default: '1h', parser: p.duration(60, 86400) }),
  ID_TOKEN_TTL: setting({ description: 'ID token lifetime', default: '1h', parser: p.duration(60, 86400) }),
  REFRESH_TOKEN_TTL: setting({ description: 'Refresh token lifetime', default: '14d', parser: p.duration(300, 31536000) }),
  AUTHORIZATION_CODE_TTL: setting({ description: 'Authorization code lifetime', default: '60s', parser: p.duration(1, 600) }),
  SESSION_TTL: setting({ description: 'Browser session lifetime at the provider, from the sign-in (then the person signs in again)', default: '14d', parser: p.duration(300, 31536000) }),
  SESSION_IDLE_TIMEOUT: setting({
    description: 'A browser session not used at the provider (no authorization request) for this long ends; 0: no idle timeout, only SESSION_TTL',
    default: '0',
    parser: p.duration(0, 31536000),
  }),
  MAX_CONCURRENT_SESSIONS: setting({
    description: 'Most browser sessions one person may hold; a sign-in past it ends their oldest sessions (their apps told by back-channel logout). 0: no cap',
    default: '0',
    parser: p.integer(0, 1000),
  }),
  INTERACTION_TTL: setting({ description: 'How long a login/consent interaction may take', default: '1h', parser: p.duration(60, 86400) }),
  BCRYPT_COST: setting({ description: 'bcrypt cost factor for passwords', default: '12', parser: p.integer(4, 15) }),
  LOGIN_MAX_FAILURES_PER_ACCOUNT: setting({
    description: 'Failed logins (and wrong current passwords) for one person (account, or directory entry) within LOGIN_THROTTLE_WINDOW before further attempts are refused unchecked for LOGIN_THROTTLE_WINDOW',
    default: '5',
    parser: p.integer(1, 1000),
  }),
  LOGIN_MAX_FAILURES_PER_IP: setting({
    description: 'Failed logins (or second-factor codes) from one client IP (IPv6: its /64) within LOGIN_THROTTLE_WINDOW after which each attempt from it is slowed down (250 ms per failure over, up to 5 s); at ten times this the address is locked out',
    default: '50',
    parser: p.integer(1, 100000),
  }),
  LOGIN_THROTTLE_WINDOW: setting({
    description: 'Window in which failures count, and the length of a first lockout (each further lockout of the same account or IP doubles, up to LOCKOUT_MAX_DURATION)',
    default: '15m',
    parser: p.duration(1, 86400),
  }),
  LOCKOUT_MAX_DURATION: setting({ description: 'Longest lockout the exponential back-off reaches', default: '24h', parser: p.duration(1, 2592000) }),
  LOCKOUT_MEMORY: setting({ description: 'How long earlier lockouts of an account or IP count towards the back-off', default: '24h', parser: p.duration(1, 2592000) }),
  MFA_MAX_FAILURES_PER_ACCOUNT: setting({
    description: 'Wrong second-factor codes for one account before it is locked out (same back-off as logins)',
    default: '5',
    parser: p.integer(1, 1000),
  }),
  TOKEN_MAX_FAILURES_PER_CLIENT: setting({
    description: 'Failed client authentications (invalid_client) for one client_id from one IP (IPv6: its /64) within LOGIN_THROTTLE_WINDOW before that pair gets HTTP 429; other addresses are not affected',
    default: '100',
    parser: p.integer(1, 1000000),
  }),
  TOKEN_MAX_FAILURES_PER_IP: setting({
    description: 'Failed client authentications (invalid_client) from one client IP (IPv6: its /64), any client_id, within LOGIN_THROTTLE_WINDOW before that IP gets HTTP 429 at the token endpoint',
    default: '100',
    parser: p.integer(1, 1000000),
  }),
  MFA_REQUIRED: setting({
    description: 'Require a second factor (TOTP, security key or passkey) for every sign-in; accounts without one enrol TOTP at their next sign-in',
    default: 'false',
    parser: p.boolean,
  }),
  MFA_REQUIRED_ROLES: setting({
    description: 'Comma-separated role names (assigned, or granted by an upstream provider) whose holders must use a second factor',
    default: '',
    parser: p.nameList,
  }),
  ACCOUNT_REAUTH_MAX_AGE: setting({
    description: 'How recent a sign-in must be to change second factors, recovery codes or the password on the account pages (older ones sign in again)',
    default: '15m',
    parser: p.duration(30, 86400),
  }),
  BRAND_NAME: setting({ description: 'Product name shown on the hosted pages', default: 'Gatehouse', parser: p.text(80) }),
  BRAND_LOGO_URL: setting({ description: 'Logo shown on the hosted pages (https URL, or empty)', default: '', parser: p.url(['https', 'http'], { allowEmpty: true }) }),
  BRAND_PRIMARY_COLOR: setting({ description: 'Accent colour of buttons and links', default: '#1f4fd1', parser: p.color }),
  BRAND_SUPPORT_URL: setting({ description: 'A "Need help?" link under every hosted page and email (https URL, or empty)', default: '', parser: p.url(['https'], { allowEmpty: true }) }),
  BRAND_BACKGROUND_COLOR: setting({ description: 'Page background colour', default: '#f5f6f8', parser: p.color }),
  BRAND_TEXTS: setting({
    description: 'The product name, support and terms links per locale, over BRAND_NAME, BRAND_SUPPORT_URL and REGISTRATION_TERMS_URL (JSON: {"de":{"name":"...","supportUrl":"https://...","termsUrl":"https://..."}})',
    default: '',
    parser: p.brandTexts(LOCALES),
  }),
  DEFAULT_LOCALE: setting({ description: 'Language of the pages and emails when neither ui_locales, the account, the language switcher nor the browser names a supported one', default: 'en', parser: p.oneOf(...LOCALES) }),
  LOG_LEVEL: setting({ description: 'pino log level', default: 'info', parser: p.oneOf('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent') }),
  SWEEP_INTERVAL: setting({ description: 'How often expired records are deleted from the store', default: '5m', parser: p.duration(1, 86400) }),
  FEDERATION_FILE: setting({
    description: 'Optional JSON file configuring upstream LDAP directories and SAML 2.0 identity providers (format in the README)',
    default: '',
    parser: federationFile,
  }),
  REGISTRATION_ENABLED: setting({
    description:
      'Self-registration: turns on the standalone /register page and the "Create an account" link on sign-in pages (a client can override it with its `gatehouse_self_registration` metadata)',
    default: 'false',
    parser: p.boolean,
  }),
  REGISTRATION_EMAIL_DOMAINS: setting({
    description: 'Self-registration only with an email address at one of these domains (comma-separated; empty: any)',
    default: '',
    parser: p.domainList,
  }),
  SIGN_IN_ALLOWED_IP_RANGES: setting({
    description: 'Sign-in only from these client IP ranges (comma-separated CIDR); an authorization request from elsewhere ends with access_denied. Empty: anywhere',
    default: '',
    parser: p.ipRangeList,
  }),
  REGISTRATION_TERMS_URL: setting({
    description: 'Terms of service: when set, registering requires ticking a box that accepts the terms at this URL',
    default: '',
    parser: p.url(['https', 'http'], { allowEmpty: true }),
  }),
  REGISTRATION_LIMIT_PER_IP: setting({ description: 'Registrations one client IP may submit per hour', default: '10', parser: p.integer(1, 100000) }),
  EMAIL_LIMIT_PER_ACCOUNT: setting({
    description: 'Password-reset and verification mails one address may be sent per hour (further requests get the same answer, and no mail)',
    default: '3',
    parser: p.integer(1, 1000),
  }),
  ADMIN_REQUESTS_PER_MINUTE: setting({ description: 'Management API (/admin/v1) requests one management client may make per minute (then 429)', default: '600', parser: p.integer(1, 1000000) }),
  EMAIL_LIMIT_PER_IP: setting({ description: 'Password-reset and verification requests one client IP may make per hour', default: '30', parser: p.integer(1, 100000) }),
  EMAIL_VERIFICATION_TTL: setting({ description: 'How long an email verification link works', default: '24h', parser: p.duration(300, 2592000) }),
  INVITATION_TTL: setting({ description: 'How long the link in an invitation mail (an account created by an operator without a password) works', default: '7d', parser: p.duration(3600, 2592000) }),
  PASSWORD_RESET_TTL: setting({ description: 'How long a password reset link works', default: '1h', parser: p.duration(300, 86400) }),
  PASSWORD_MIN_LENGTH: setting({
    description: 'Shortest password accepted, in Unicode characters (NIST SP 800-63B-4 asks 15 when the password is the only factor, 8 with a second factor)',
    default: '12',
    parser: p.integer(8, 128),
  }),
  PASSWORD_MAX_LENGTH: setting({ description: 'Longest password accepted, in Unicode characters (NIST asks to allow at least 64)', default: '256', parser: p.integer(64, 1024) }),
  PASSWORD_HISTORY: setting({ description: 'A new password may not be any of this many most recent passwords of the account, the current one included (0: only "not the current one")', default: '5', parser: p.integer(0, 50) }),
  PASSWORD_MAX_AGE: setting({
    description: 'Passwords older than this must be changed at the next sign-in (0: never; NIST advises against periodic changes)',
    default: '0',
    parser: p.duration(0, 315360000),
  }),
  SMTP_URL: setting({
    description:
      'Outgoing mail server: smtps://user:password@host:465 (TLS) or smtp://host:587 (STARTTLS when offered). Empty: mail is written to the log instead (with its links hidden outside development)',
    default: '',
    parser: p.smtpUrl,
    secret: true,
  }),
  MAIL_FROM: setting({
    description: 'Sender of the mail Gatehouse sends',
    default: '',
    derive: { text: '`BRAND_NAME <no-reply@ISSUER host>`', value: (c) => `${String(c.BRAND_NAME).replace(/[<>"\r\n]/g, '')} <no-reply@${new URL(String(c.ISSUER)).hostname}>` },
    parser: p.mailbox,
  }),
  AUDIT_RETENTION: setting({ description: 'How long audit events are kept before they are swept', default: '90d', parser: p.duration(86400, 315360000) }),
  DYNAMIC_REGISTRATION: setting({
    description: 'Dynamic client registration (RFC 7591) and management (RFC 7592) at /reg, with initial access tokens from `gatehouse clients initial-token create`',
    default: 'false',
    parser: p.boolean,
  }),
  SEED_DEMO: setting({
    description: 'Seed an empty store with a demo client and user (development only)',
    default: 'true',
    parser: p.boolean,
  }),
  WEBHOOK_RETRY_PERIOD: setting({
    description: 'How long a webhook delivery is retried (5xx, 408, 429, timeouts, connection errors) before it is marked failed and kept for inspection',
    default: '24h',
    parser: p.duration(1, 2592000),
  }),
  WEBHOOK_RETRY_BASE_MS: setting({
    description: 'The first retry delay of a webhook delivery in milliseconds; each retry waits twice as long (with jitter), up to WEBHOOK_RETRY_MAX_DELAY',
    default: '5000',
    parser: p.integer(10, 3600000),
  }),
  WEBHOOK_RETRY_MAX_DELAY: setting({ description: 'The longest wait between two attempts of a webhook delivery', default: '1h', parser: p.duration(1, 86400) }),
  WEBHOOK_TIMEOUT: setting({ description: 'How long a webhook receiver has to answer one attempt (then it counts as failed and is retried)', default: '15s', parser: p.duration(1, 300) }),
  WEBHOOK_DISABLE_AFTER: setting({
    description: 'Failed attempts in a row after which a webhook endpoint is disabled (and a webhook.endpoint_disabled event says so); 0: never',
    default: '100',
    parser: p.integer(0, 100000),
  }),
  WEBHOOK_DELIVERY_RETENTION: setting({
    description: 'How long delivered and failed webhook deliveries are kept for inspection (and redelivery) before they are swept',
    default: '7d',
    parser: p.duration(3600, 31536000),
  }),
  WEBHOOK_POLL_INTERVAL_MS: setting({
    description: 'How often each replica looks for webhook deliveries that are due, in milliseconds (an event recorded on the same replica is sent at once)',
    default: '1000',
    parser: p.integer(10, 60000),
  }),
  CONSOLE_ENABLED: setting({
    description: 'The operators\' web console at /console (sign-in through Gatehouse; shows what the person\'s gatehouse:* roles allow). Off: /console answers 404',
    default: '',
    derive: { text: '`true` when NODE_ENV is `development`, else `false`', value: (c) => String(c.NODE_ENV === 'development') },
    parser: p.boolean,
  }),
  CONSOLE_REQUIRE_MFA: setting({
    description: 'The console asks for a second factor at sign-in (acr urn:gatehouse:acr:mfa), enrolling one if the operator has none',
    default: 'true',
    parser: p.boolean,
  }),
  CONSOLE_SESSION_TTL: setting({
    description: 'How long a console sign-in lasts (shorter than SESSION_TTL): older ones sign in again, with max_age',
    default: '30m',
    parser: p.duration(60, 86400),
  }),
  CONSOLE_IDLE_TIMEOUT: setting({
    description: 'A console sign-in unused this long ends (each page or action renews it); signing in again asks for the password',
    default: '15m',
    parser: p.duration(1, 86400),
  }),
  TENANT_CACHE_SIZE: setting({
    description: 'Most tenants whose app (provider, keys, pages) is kept in memory per process, under 1 MB each; the least recently used is evicted and built again on its next request (a few ms)',
    default: '100',
    parser: p.integer(1, 1000000),
  }),
  TENANT_SETTINGS_REFRESH: setting({
    description: 'How long a process serves a tenant\'s cached settings before reading its version again: a change or deletion reaches every replica within this',
    default: '10s',
    parser: p.duration(0, 3600),
  }),
};

export type SettingName = keyof typeof settings;
export type Config = { [K in SettingName]: (typeof settings)[K] extends SettingSpec<infer T> ? T : never };
