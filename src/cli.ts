#!/usr/bin/env node
/**
 * gatehouse: the operator's command line. It works on the same DATABASE_URL (and settings) as the server.
 *
 *   gatehouse users create --email E --password P [--name N] [--verified]
 *   gatehouse users roles --email E [--set 'admin,ops']     (prints the roles; --set '' clears them)
 *   gatehouse clients create --json '<OIDC client metadata>'
 *   gatehouse clients list
 *   gatehouse clients initial-token create [--ttl 1d]   (an RFC 7591 initial access token for POST /reg when
 *                                       DYNAMIC_REGISTRATION is on; shown once, stored hashed, usable until it expires)
 *   gatehouse clients set-scope --client-id ID --scope 'openid invoices:read'   (the scopes it may request; a
 *                                       client without `scope` gets no API scope; '' removes it)
 *   gatehouse resources create --identifier URI --scope 'read=Read your things' [--scope ...] [--name N] [--ttl 1h]
 *   gatehouse resources list
 *   gatehouse resources introspector --identifier URI --client-id ID [--remove]
 *                                       (the API's resource server: that client may introspect tokens for the API)
 *   gatehouse users set-password --email E --password P      (signs the account out everywhere)
 *   gatehouse keys list
 *   gatehouse keys rotate [--now]      (--now: sign with the new key at once)
 *   gatehouse keys revoke KID          (a leaked key: out of the JWKS and never signing again, within
 *                                       KEY_REFRESH_INTERVAL; a fresh key signs at once when it was the current one)
 *   gatehouse keys reencrypt           (every secret at rest under the first KEY_ENCRYPTION_KEYS key, so the
 *                                       others can be dropped; exit 1, changing nothing for it, when a value
 *                                       cannot be decrypted)
 *   gatehouse audit [--account ID|EMAIL] [--since 24h|2024-05-01T00:00Z] [--until ...] [--type T ...] [--limit N]
 *                                                               (JSON lines, oldest first; a type ending in . is a prefix)
 */
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { loadConfig, ConfigError } from './config/load-config.js';
import { duration, SettingValueError } from './config/parsers.js';
import { DuplicateError } from '../adapters/contract.js';
import { InvalidAccountInput } from './accounts/accounts.js';
import { InvalidResourceInput } from './clients/resource-registry.js';
import { InvalidClientScope } from './clients/client-scope.js';
import { InvalidClientSecret } from './clients/client-registry.js';
import { createLogger } from './app/logger.js';
import type { CliContext as AppContext } from './app/cli-context.js';
import { scheduleKeys } from './keys/key-schedule.js';
import { keyTimings } from './keys/rotation.js';
import { reencryptSecrets } from './keys/reencrypt-secrets.js';
import type { AuditEvent } from './audit/audit-log.js';

/**
 * A command reads its arguments first and returns what it will do with the context, so bad input is refused
 * before the store is opened (and before oidc-provider and the rest of the server are even loaded).
 */
type Command = (args: string[]) => (c: AppContext) => Promise<void>;

const print = (value: unknown): void => void process.stdout.write(`${typeof value === 'string' ? value : JSON.stringify(value, null, 2)}\n`);

class UsageError extends Error {}
/** Some value could not be re-encrypted (exit 1: the store, not the input, is the trouble). */
class ReencryptFailed extends Error {}

/** Operator actions are audited like any other security event, from the CLI. */
function audited(c: AppContext, event: AuditEvent): Promise<void> {
  let operator = 'unknown';
  try {
    operator = userInfo().username;
  } catch {
    // no passwd entry (some containers): the event is still recorded
  }
  return c.audit.record({ ...event, details: { ...event.details, operator } }, { userAgent: 'gatehouse-cli' });
}

/** `24h`, `7d` (that long ago) or an ISO 8601 date-time, as epoch milliseconds. */
function pointInTime(value: string, name: string): number {
  if (/^(\d+)([smhd])$/.test(value)) return Date.now() - duration(1, 315360000).parse(value) * 1000;
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new UsageError(`--${name} takes a duration such as 24h or 7d, or an ISO 8601 date-time`);
  return t;
}

/** Like options(), for a command that takes one positional argument. */
function positional(args: string[], what: string): string {
  let parsed;
  try {
    parsed = parseArgs({ args, options: {}, strict: true, allowPositionals: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const [value, ...extra] = parsed.positionals;
  if (!value || extra.length > 0) throw new UsageError(`expected exactly one ${what}`);
  return value;
}

function options<T extends Record<string, { type: 'string' | 'boolean'; multiple?: boolean }>>(args: string[], spec: T) {
  try {
    return parseArgs({ args, options: spec, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function required(value: string | undefined, name: string): string {
  if (!value) throw new UsageError(`--${name} is required`);
  return value;
}

function parseTtl(raw: string): number {
  const parser = duration(60, 86400);
  try {
    return parser.parse(raw);
  } catch (err) {
    throw err instanceof SettingValueError ? new UsageError(`--ttl: expected ${parser.accepted}`) : err;
  }
}

/** Errors that mean the operator's input was refused (exit code 2), as opposed to the CLI failing (1). */
const BAD_INPUT = [UsageError, ConfigError, DuplicateError, InvalidAccountInput, InvalidResourceInput, InvalidClientScope, InvalidClientSecret];
// oidc-provider's own error class is matched by name: importing it here would load the provider for every command
const isBadInput = (err: unknown) => BAD_INPUT.some((kind) => err instanceof kind) || (err as Error)?.name === 'InvalidClientMetadata';

const COMMANDS: Record<string, Command> = {
  'users create'(args) {
    const o = options(args, { email: { type: 'string' }, password: { type: 'string' }, name: { type: 'string' }, verified: { type: 'boolean' } });
    const input = { email: required(o.email, 'email'), password: required(o.password, 'password'), name: o.name, emailVerified: o.verified ?? false };
    return async (c) => {
      const account = await c.accounts.create(input);
      await audited(c, { type: 'admin.user.created', accountId: account.id, details: { email: account.email } });
      print({ id: account.id, email: account.email, name: account.name, email_verified: account.emailVerified });
    };
  },

  'users set-password'(args) {
    const o = options(args, { email: { type: 'string' }, password: { type: 'string' } });
    const email = required(o.email, 'email');
    const password = required(o.password, 'password');
    return async (c) => {
      const account = await c.accounts.findByEmail(email);
      if (!account) throw new UsageError(`no account has the email ${email}`);
      await c.accounts.setPassword(account, password);
      const signedOut = await c.signOutEverywhere(account.id);
      c.accountMail.passwordChanged(account, 'admin', `${c.config.ISSUER}/password/forgot`);
      await audited(c, { type: 'admin.password.set', accountId: account.id, details: { sessionsEnded: signedOut.sessions, grantsRevoked: signedOut.grants } });
      print({ id: account.id, email: account.email, sessions_ended: signedOut.sessions, grants_revoked: signedOut.grants });
    };
  },

  audit(args) {
    const o = options(args, {
      account: { type: 'string' }, since: { type: 'string' }, until: { type: 'string' }, type: { type: 'string', multiple: true }, limit: { type: 'string' },
    });
    const limit = o.limit ? Number(o.limit) : 1000;
    if (!Number.isInteger(limit) || limit < 1 || limit > 100000) throw new UsageError('--limit takes an integer from 1 to 100000');
    const since = pointInTime(o.since ?? '24h', 'since');
    const until = o.until ? pointInTime(o.until, 'until') : undefined;
    return async (c) => {
      let accountId = o.account;
      if (accountId?.includes('@')) {
        const account = await c.accounts.findByEmail(accountId);
        if (!account) throw new UsageError(`no account has the email ${accountId}`);
        accountId = account.id;
      }
      const events = await c.audit.query({ accountId, since, until, types: o.type, limit });
      for (const e of events) process.stdout.write(`${JSON.stringify({ ...e, time: new Date(e.time).toISOString() })}\n`);
    };
  },

  'users roles'(args) {
    const o = options(args, { email: { type: 'string' }, set: { type: 'string' } });
    const email = required(o.email, 'email');
    return async (c) => {
      if (o.set !== undefined) {
        const account = await c.accounts.setRoles(email, o.set.split(','));
        print({ email: account.email, roles: account.roles });
        return;
      }
      const account = await c.store.accounts.findByEmail(email.trim().toLowerCase());
      if (!account) throw new UsageError('no account has this email');
      print({ email: account.email, roles: account.roles });
    };
  },

  'clients create'(args) {
    const o = options(args, { json: { type: 'string' } });
    let metadata: unknown;
    try {
      metadata = JSON.parse(required(o.json, 'json'));
    } catch (err) {
      throw err instanceof UsageError ? err : new UsageError('--json must be a JSON object of OIDC client metadata');
    }
    if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) throw new UsageError('--json must be a JSON object');
    return async (c) => {
      const client = await c.clients.create(metadata as Record<string, unknown>);
      await audited(c, { type: 'admin.client.created', clientId: client.client_id, details: { token_endpoint_auth_method: client.token_endpoint_auth_method ?? 'client_secret_basic' } });
      print(client);
      if (client.client_secret) process.stderr.write('The client_secret is shown only now; it is stored encrypted.\n');
    };
  },

  'clients set-scope'(args) {
    const o = options(args, { 'client-id': { type: 'string' }, scope: { type: 'string' } });
    const clientId = required(o['client-id'], 'client-id');
    if (o.scope === undefined) throw new UsageError('--scope is required (a space-separated list; \'\' removes it)');
    const scope = o.scope;
    return async (c) => {
      const metadata = await c.clients.setScope(clientId, scope);
      if (!metadata) throw new UsageError('no client has this client_id');
      await audited(c, { type: 'admin.client.updated', clientId, details: { scope: metadata.scope ?? null } });
      print({ client_id: clientId, scope: metadata.scope ?? null });
    };
  },

  'clients list'(args) {
    options(args, {});
    return async (c) => {
      const clients = await c.clients.list();
      print(clients.map((r) => ({ client_id: r.clientId, client_name: r.metadata.client_name, token_endpoint_auth_method: r.metadata.token_endpoint_auth_method ?? 'client_secret_basic', redirect_uris: r.metadata.redirect_uris, grant_types: r.metadata.grant_types, scope: r.metadata.scope ?? null })));
    };
  },

  'clients initial-token create'(args) {
    const o = options(args, { ttl: { type: 'string' } });
    const ttl = parseTtl(o.ttl ?? '1d');
    return async (c) => {
      const token = new c.providers.current.InitialAccessToken({ expiresIn: ttl });
      const value = await token.save();
      const expiresAt = new Date(Date.now() + ttl * 1000).toISOString();
      await audited(c, { type: 'admin.client.initial_token.created', details: { expires_at: expiresAt } });
      print({ initial_access_token: value, expires_at: expiresAt });
      process.stderr.write('The initial access token is shown only now; it is stored hashed.\n');
      if (!c.config.DYNAMIC_REGISTRATION) process.stderr.write('DYNAMIC_REGISTRATION is off: the token works once it is turned on.\n');
    };
  },

  'resources create'(args) {
    const o = options(args, { identifier: { type: 'string' }, name: { type: 'string' }, scope: { type: 'string', multiple: true }, ttl: { type: 'string' } });
    const scopes: Record<string, string> = {};
    for (const entry of o.scope ?? []) {
      const [scope, ...description] = entry.split('=');
      if (!scope) throw new UsageError('--scope takes NAME=Description in plain words');
      scopes[scope] = description.join('=') || scope;
    }
    const identifier = required(o.identifier, 'identifier');
    const ttl = o.ttl ? parseTtl(o.ttl) : undefined;
    return async (c) => {
      const resource = await c.resources.create({ identifier, name: o.name, scopes, accessTokenTtl: ttl ?? c.config.ACCESS_TOKEN_TTL });
      await audited(c, { type: 'admin.resource.created', details: { identifier: resource.identifier, scopes: Object.keys(resource.scopes) } });
      print(resource);
    };
  },

  'resources introspector'(args) {
    const o = options(args, { identifier: { type: 'string' }, 'client-id': { type: 'string' }, remove: { type: 'boolean' } });
    const identifier = required(o.identifier, 'identifier');
    const clientId = required(o['client-id'], 'client-id');
    return async (c) => {
      if (!(await c.resources.find(identifier))) throw new UsageError('no API has this identifier');
      const client = (await c.clients.list()).find((r) => r.clientId === clientId);
      if (!client) throw new UsageError('no client has this client_id');
      const current = Array.isArray(client.metadata.gatehouse_introspects) ? (client.metadata.gatehouse_introspects as string[]) : [];
      const next = o.remove ? current.filter((r) => r !== identifier) : [...current, identifier];
      const metadata = await c.clients.setIntrospects(clientId, next);
      if (!metadata) throw new UsageError('no client has this client_id');
      await audited(c, { type: 'admin.client.updated', clientId, details: { gatehouse_introspects: metadata.gatehouse_introspects ?? [] } });
      print({ client_id: clientId, gatehouse_introspects: metadata.gatehouse_introspects ?? [] });
    };
  },

  'resources list'(args) {
    options(args, {});
    return async (c) => {
      print(await c.resources.list());
    };
  },

  'keys list'(args) {
    options(args, {});
    return async (c) => {
      // the states the clock has decided (src/keys/key-schedule.ts), also before a replica has stored them
      const keys = scheduleKeys(await c.store.signingKeys.list(), Date.now(), keyTimings(c.config).retentionMs)
        .map(({ record, state, expiresAt }) => ({ ...record, state, expiresAt }));
      print(keys.map((k) => ({ kid: k.kid, alg: k.alg, state: k.state, created_at: new Date(k.createdAt).toISOString(), activates_at: k.activatesAt && new Date(k.activatesAt).toISOString(), expires_at: k.expiresAt && new Date(k.expiresAt).toISOString() })));
    };
  },

  'keys rotate'(args) {
    const o = options(args, { now: { type: 'boolean' } });
    return async (c) => {
      const next = await c.keyRing.rotate({ immediately: o.now ?? false });
      print({ kid: next.kid, activates_at: new Date(next.activatesAt).toISOString() });
      process.stderr.write('Every replica signs with it from then on (within KEY_REFRESH_INTERVAL); the old key stays in the JWKS until its tokens expire.\n');
    };
  },

  'keys revoke'(args) {
    const kid = positional(args, 'KID (see gatehouse keys list)');
    return async (c) => {
      const result = await c.keyRing.revoke(kid);
      await audited(c, { type: 'admin.key.revoked', details: { kid: result.revoked, state: result.state, current: result.current } });
      print({ revoked: result.revoked, was: result.state, current: result.current });
      process.stderr.write('Every replica drops it from the JWKS and stops signing with it within KEY_REFRESH_INTERVAL; tokens it signed no longer verify.\n');
    };
  },

  'keys reencrypt'(args) {
    options(args, {});
    return async (c) => {
      const report = await reencryptSecrets({ secrets: c.store.encryptedSecrets, cipher: c.cipher });
      const counts = Object.fromEntries(Object.entries(report.counts).map(([kind, n]) => [kind, { reencrypted: n.reencrypted, already_current: n.alreadyCurrent, failed: n.failed }]));
      await audited(c, { type: 'admin.keys.reencrypted', result: report.failures.length ? 'failure' : 'success', details: { counts } });
      print(counts);
      for (const f of report.failures) process.stderr.write(`gatehouse: ${f.kind} ${f.id} was left as it is: ${f.reason}\n`);
      if (report.failures.length) throw new ReencryptFailed(`${report.failures.length} value(s) could not be re-encrypted; keep the key that encrypted them in KEY_ENCRYPTION_KEYS`);
      process.stderr.write('Every secret is now encrypted under the first KEY_ENCRYPTION_KEYS key: the others can be removed (then restart or roll the replicas).\n');
    };
  },
};

async function main(argv: string[]): Promise<number> {
  // the longest command name the arguments start with ('clients initial-token create', 'clients create', ...)
  const name = [3, 2, 1].map((n) => argv.slice(0, n).join(' ')).find((n) => COMMANDS[n]) ?? '';
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`usage: gatehouse <${Object.keys(COMMANDS).join(' | ')}> [options]\n`);
    return 2;
  }
  const run = command(argv.slice(name.split(' ').length));
  const config = loadConfig();
  // the CLI's lean context: no timers, no pages, and oidc-provider loaded only when a command needs it
  const [{ buildCliContext }, { DEFAULT_PATHS }] = await Promise.all([import('./app/cli-context.js'), import('./app/paths.js')]);
  const context = await buildCliContext({ config, logger: createLogger('warn'), ...DEFAULT_PATHS, providerUpFront: name === 'clients initial-token create' });
  try {
    await run(context);
    return 0;
  } finally {
    await context.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const e = err as Error & { error_description?: string };
    process.stderr.write(`gatehouse: ${e.error_description ?? e.message}\n`);
    process.exit(isBadInput(err) ? 2 : 1);
  },
);
