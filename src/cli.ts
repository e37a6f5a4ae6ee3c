#!/usr/bin/env node
/**
 * gatehouse: the operator's command line. It works on the same DATABASE_URL (and settings) as the server.
 *
 *   gatehouse users create --email E --password P [--name N] [--verified]
 *   gatehouse users roles --email E [--set 'admin,ops']     (prints the roles; --set '' clears them)
 *   gatehouse clients create --json '<OIDC client metadata>'
 *   gatehouse clients list
 *   gatehouse resources create --identifier URI --scope 'read=Read your things' [--scope ...] [--name N] [--ttl 1h]
 *   gatehouse resources list
 *   gatehouse users set-password --email E --password P      (signs the account out everywhere)
 *   gatehouse keys list
 *   gatehouse audit [--account ID|EMAIL] [--since 24h|2024-05-01T00:00Z] [--until ...] [--type T ...] [--limit N]
 *                                                               (JSON lines, oldest first; a type ending in . is a prefix)
 */
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import { loadConfig, ConfigError } from './config/load-config.js';
import { duration } from './config/parsers.js';
import { createLogger } from './app/logger.js';
import { buildContext, type AppContext } from './app/context.js';
import { DEFAULT_PATHS } from './server.js';
import type { AuditEvent } from './audit/audit-log.js';
import { InvalidAccountInput } from './accounts/accounts.js';

type Command = (c: AppContext, args: string[]) => Promise<void>;

const print = (value: unknown) => process.stdout.write(`${typeof value === 'string' ? value : JSON.stringify(value, null, 2)}\n`);

class UsageError extends Error {}

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
  const relative = /^(\d+)([smhd])$/.exec(value);
  if (relative) return Date.now() - duration(1, 315360000).parse(value) * 1000;
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new UsageError(`--${name} takes a duration such as 24h or 7d, or an ISO 8601 date-time`);
  return t;
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

const COMMANDS: Record<string, Command> = {
  async 'users create'(c, args) {
    const o = options(args, { email: { type: 'string' }, password: { type: 'string' }, name: { type: 'string' }, verified: { type: 'boolean' } });
    const account = await c.accounts.create({
      email: required(o.email, 'email'),
      password: required(o.password, 'password'),
      name: o.name,
      emailVerified: o.verified ?? false,
    });
    await audited(c, { type: 'admin.user.created', accountId: account.id, details: { email: account.email } });
    print({ id: account.id, email: account.email, name: account.name, email_verified: account.emailVerified });
  },

  async 'users set-password'(c, args) {
    const o = options(args, { email: { type: 'string' }, password: { type: 'string' } });
    const account = await c.accounts.findByEmail(required(o.email, 'email'));
    if (!account) throw new UsageError(`no account has the email ${o.email}`);
    await c.accounts.setPassword(account, required(o.password, 'password'));
    const signedOut = await c.signOutEverywhere(account.id);
    c.accountMail.passwordChanged(account, 'admin', `${c.config.ISSUER}/password/forgot`);
    await audited(c, { type: 'admin.password.set', accountId: account.id, details: { sessionsEnded: signedOut.sessions, grantsRevoked: signedOut.grants } });
    print({ id: account.id, email: account.email, sessions_ended: signedOut.sessions, grants_revoked: signedOut.grants });
  },

  async audit(c, args) {
    const o = options(args, {
      account: { type: 'string' }, since: { type: 'string' }, until: { type: 'string' }, type: { type: 'string', multiple: true }, limit: { type: 'string' },
    });
    let accountId = o.account;
    if (accountId?.includes('@')) {
      const account = await c.accounts.findByEmail(accountId);
      if (!account) throw new UsageError(`no account has the email ${accountId}`);
      accountId = account.id;
    }
    const limit = o.limit ? Number(o.limit) : 1000;
    if (!Number.isInteger(limit) || limit < 1 || limit > 100000) throw new UsageError('--limit takes an integer from 1 to 100000');
    const events = await c.audit.query({
      accountId,
      since: pointInTime(o.since ?? '24h', 'since'),
      until: o.until ? pointInTime(o.until, 'until') : undefined,
      types: o.type,
      limit,
    });
    for (const e of events) process.stdout.write(`${JSON.stringify({ ...e, time: new Date(e.time).toISOString() })}\n`);
  },

  async 'users roles'(c, args) {
    const o = options(args, { email: { type: 'string' }, set: { type: 'string' } });
    const email = required(o.email, 'email');
    if (o.set !== undefined) {
      const account = await c.accounts.setRoles(email, o.set.split(','));
      print({ email: account.email, roles: account.roles });
      return;
    }
    const account = await c.store.accounts.findByEmail(email.trim().toLowerCase());
    if (!account) throw new UsageError('no account has this email');
    print({ email: account.email, roles: account.roles });
  },

  async 'clients create'(c, args) {
    const o = options(args, { json: { type: 'string' } });
    let metadata: unknown;
    try {
      metadata = JSON.parse(required(o.json, 'json'));
    } catch (err) {
      throw err instanceof UsageError ? err : new UsageError('--json must be a JSON object of OIDC client metadata');
    }
    if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) throw new UsageError('--json must be a JSON object');
    const client = await c.clients.create(metadata as Record<string, unknown>);
    await audited(c, { type: 'admin.client.created', clientId: client.client_id, details: { token_endpoint_auth_method: client.token_endpoint_auth_method ?? 'client_secret_basic' } });
    print(client);
    if (client.client_secret) process.stderr.write('The client_secret is shown only now; it is stored encrypted.\n');
  },

  async 'clients list'(c) {
    const clients = await c.clients.list();
    print(clients.map((r) => ({ client_id: r.clientId, client_name: r.metadata.client_name, token_endpoint_auth_method: r.metadata.token_endpoint_auth_method ?? 'client_secret_basic', redirect_uris: r.metadata.redirect_uris, grant_types: r.metadata.grant_types })));
  },

  async 'resources create'(c, args) {
    const o = options(args, { identifier: { type: 'string' }, name: { type: 'string' }, scope: { type: 'string', multiple: true }, ttl: { type: 'string' } });
    const scopes: Record<string, string> = {};
    for (const entry of o.scope ?? []) {
      const [scope, ...description] = entry.split('=');
      if (!scope) throw new UsageError('--scope takes NAME=Description in plain words');
      scopes[scope] = description.join('=') || scope;
    }
    const ttl = o.ttl ? duration(60, 86400).parse(o.ttl) : c.config.ACCESS_TOKEN_TTL;
    const resource = await c.resources.create({ identifier: required(o.identifier, 'identifier'), name: o.name, scopes, accessTokenTtl: ttl });
    await audited(c, { type: 'admin.resource.created', details: { identifier: resource.identifier, scopes: Object.keys(resource.scopes) } });
    print(resource);
  },

  async 'resources list'(c) {
    print(await c.resources.list());
  },

  async 'keys list'(c) {
    const keys = await c.store.signingKeys.list();
    print(keys.map((k) => ({ kid: k.kid, alg: k.alg, state: k.state, created_at: new Date(k.createdAt).toISOString(), activates_at: k.activatesAt && new Date(k.activatesAt).toISOString(), expires_at: k.expiresAt && new Date(k.expiresAt).toISOString() })));
  },
};

async function main(argv: string[]): Promise<number> {
  const name = COMMANDS[argv[0] ?? ''] ? (argv[0] as string) : argv.slice(0, 2).join(' ');
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`usage: gatehouse <${Object.keys(COMMANDS).join(' | ')}> [options]\n`);
    return 2;
  }
  const config = loadConfig();
  const context = await buildContext({ config, logger: createLogger('warn'), ...DEFAULT_PATHS });
  try {
    await command(context, argv.slice(name.split(' ').length));
    return 0;
  } finally {
    await context.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    const known = err instanceof UsageError || err instanceof ConfigError || (err as Error)?.name === 'InvalidClientMetadata' || (err as Error)?.constructor?.name?.startsWith('Invalid') || (err as Error)?.name === 'DuplicateError' || err instanceof InvalidAccountInput;
    const e = err as Error & { error_description?: string };
    process.stderr.write(`gatehouse: ${e.error_description ?? e.message}\n`);
    process.exit(known ? 2 : 1);
  },
);
