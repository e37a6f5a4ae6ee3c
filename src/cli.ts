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
 *   gatehouse keys list
 */
import { parseArgs } from 'node:util';
import { loadConfig, ConfigError } from './config/load-config.js';
import { duration } from './config/parsers.js';
import { createLogger } from './app/logger.js';
import { buildContext, type AppContext } from './app/context.js';
import { DEFAULT_PATHS } from './server.js';
import { InvalidAccountInput } from './accounts/accounts.js';

type Command = (c: AppContext, args: string[]) => Promise<void>;

const print = (value: unknown) => process.stdout.write(`${typeof value === 'string' ? value : JSON.stringify(value, null, 2)}\n`);

class UsageError extends Error {}

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
    print({ id: account.id, email: account.email, name: account.name, email_verified: account.emailVerified });
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
    print(await c.resources.create({ identifier: required(o.identifier, 'identifier'), name: o.name, scopes, accessTokenTtl: ttl }));
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
  const name = argv.slice(0, 2).join(' ');
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`usage: gatehouse <${Object.keys(COMMANDS).join(' | ')}> [options]\n`);
    return 2;
  }
  const config = loadConfig();
  const context = await buildContext({ config, logger: createLogger('warn'), ...DEFAULT_PATHS });
  try {
    await command(context, argv.slice(2));
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
