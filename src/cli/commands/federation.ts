/**
 * gatehouse federation list | show | create | update | delete: the upstream directories and identity
 * providers, as /admin/v1/identity-providers shows and writes them (one service:
 * federation/identity-provider-admin.ts). FEDERATION_FILE's are read-only; those written here are the
 * tenant's (`--tenant`) or the default tenant's, stored sealed. Never a secret in the output.
 */
import { readFileSync } from 'node:fs';
import { Option } from 'commander';
import { group, leaf, required, type CliCommand, type CliContext, type CliDeps } from '../command-tree.js';
import { ConflictError, NotFoundError, UsageError } from '../exit-codes.js';
import { audited } from '../audited.js';
import { InvalidProviderInput, ProviderWriteRefused, UpstreamUnusable } from '../../federation/identity-provider-admin.js';
import type { ProviderProtocol } from '../../federation/provider-entries.js';
import type { ProviderSummary } from '../../federation/provider-summary.js';

const PROTOCOLS = ['oidc', 'oauth2', 'saml', 'ldap'] as const;

const protocolOption = () => required('--protocol <protocol>', `which kind of provider: ${PROTOCOLS.join(', ')}`).choices(PROTOCOLS);
const settingsOptions = () => [
  new Option('--settings <json>', "the provider's entry of the federation file as JSON, files inline (README: Upstream federation)"),
  new Option('--settings-file <path>', 'the same JSON, read from this file on this machine (keeps secrets out of the shell history)'),
];

/** The JSON object of --settings or --settings-file (exit 2 when it is neither, or not an object). */
function entryOf(o: Record<string, unknown>): Record<string, unknown> {
  if ((o.settings === undefined) === (o.settingsFile === undefined)) throw new UsageError('give the provider as --settings <json> or --settings-file <path> (one of them)');
  let text: string;
  try {
    text = o.settings !== undefined ? String(o.settings) : readFileSync(String(o.settingsFile), 'utf8');
  } catch (err) {
    throw new UsageError(`--settings-file: cannot read it (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UsageError('the provider settings are not JSON, e.g. \'{"id":"okta","name":"Okta","issuer":"https://acme.okta.com","clientId":"...","clientSecret":"..."}\'');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new UsageError('the provider settings are a JSON object');
  return value as Record<string, unknown>;
}

/** The service's refusals as the CLI's exit codes (2, 3, 4). */
async function refusals<T>(id: unknown, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (err instanceof InvalidProviderInput) throw new UsageError(err.message);
    // the API's 422: nothing was stored
    if (err instanceof UpstreamUnusable) throw new UsageError(`${err.path}: ${err.message}`);
    if (!(err instanceof ProviderWriteRefused)) throw err;
    const name = JSON.stringify(String(id));
    if (err.why === 'not_found') throw new NotFoundError(`no upstream provider has the id ${name}`);
    if (err.why === 'exists') throw new ConflictError(`an upstream provider with the id ${name} (here or in FEDERATION_FILE) already exists`);
    if (err.why === 'file') throw new ConflictError(`the upstream provider ${name} is configured in FEDERATION_FILE: change it there`);
    throw new ConflictError('the upstream providers changed meanwhile; run the command again');
  }
}

const auditedWrite = (c: CliContext, type: string, p: ProviderSummary) => audited(c, { type, details: { providerId: p.id, protocol: p.protocol } });

export function federationCommands(program: CliCommand, deps: CliDeps): void {
  const federation = group(program, 'federation', 'the upstream directories and identity providers: FEDERATION_FILE\'s (read-only) and those written here or through the API (never secrets)');

  leaf(federation, {
    name: 'list',
    description: 'list the LDAP directories, SAML IdPs and OpenID Connect / OAuth 2.0 providers with their domains and where they are changed',
    example: 'gatehouse federation list',
    plan() {
      return async (c, out) => {
        out.list((await c.identityProviders.list()).providers.map((p) => ({
          id: p.id, protocol: p.protocol, name: p.name, domains: p.domains.join(','), link_existing_accounts: p.link_existing_accounts, source: p.source,
        })), ['id', 'protocol', 'name', 'domains', 'link_existing_accounts', 'source']);
      };
    },
  }, deps);

  leaf(federation, {
    name: 'show',
    description: 'print one provider with its mappings and protocol settings (exit 3 for an unknown id)',
    argument: ['<id>', 'the provider id (see gatehouse federation list)'],
    example: 'gatehouse federation show okta',
    plan(_o, [id]) {
      return async (c, out) => {
        const found = await c.identityProviders.get(id!);
        if (!found) throw new NotFoundError(`no upstream provider has the id ${id}`);
        out.record(found.provider);
      };
    },
  }, deps);

  leaf(federation, {
    name: 'create',
    description: 'add a provider (exit 4 when its id is taken, here or in FEDERATION_FILE); it is offered at sign-in within TENANT_SETTINGS_REFRESH',
    options: [protocolOption(), ...settingsOptions()],
    example: 'gatehouse federation create --protocol oidc --settings-file okta.json',
    plan(o) {
      const protocol = o.protocol as ProviderProtocol;
      const entry = entryOf(o);
      return async (c, out) => {
        const { provider } = await refusals(entry.id, c.identityProviders.create(protocol, entry));
        await auditedWrite(c, 'identity_provider.created', provider);
        out.record(provider);
      };
    },
  }, deps);

  leaf(federation, {
    name: 'update',
    description: 'replace a provider\'s settings, secrets included (exit 3 for an unknown id, 4 for one of FEDERATION_FILE or when it changed meanwhile)',
    argument: ['<id>', 'the provider id'],
    options: [protocolOption(), ...settingsOptions()],
    example: 'gatehouse federation update okta --protocol oidc --settings-file okta.json',
    plan(o, [id]) {
      const protocol = o.protocol as ProviderProtocol;
      const entry = entryOf(o);
      return async (c, out) => {
        const { provider } = await refusals(id, c.identityProviders.replace(id!, protocol, entry));
        await auditedWrite(c, 'identity_provider.updated', provider);
        out.record(provider);
      };
    },
  }, deps);

  leaf(federation, {
    name: 'delete',
    description: 'remove a provider (exit 3 for an unknown id, 4 for one of FEDERATION_FILE); people linked to it keep their accounts',
    argument: ['<id>', 'the provider id'],
    options: [new Option('--yes', 'confirm: its sign-in button goes, and sign-ins already sent to it fail').default(false)],
    example: 'gatehouse federation delete okta --yes',
    plan(o, [id]) {
      if (o.yes !== true) throw new UsageError('deleting a provider takes --yes');
      return async (c, out) => {
        const provider = await refusals(id, c.identityProviders.delete(id!));
        await auditedWrite(c, 'identity_provider.deleted', provider);
        out.record({ id: provider.id, deleted: true });
      };
    },
  }, deps);
}
