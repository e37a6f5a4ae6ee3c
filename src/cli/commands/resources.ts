/** gatehouse resources create | list | introspector */
import { Option } from 'commander';
import { group, leaf, required, type CliCommand, type CliDeps } from '../command-tree.js';
import { NotFoundError, UsageError } from '../exit-codes.js';
import { collect, ttl } from '../option-values.js';
import { audited } from '../audited.js';
import type { ResourceTokenClaim } from '../../../adapters/contract.js';
import { RESOURCE_TOKEN_CLAIMS } from '../../clients/resource-registry.js';

const tokenClaimOption = () => new Option('--token-claim <claim>', `an opt-in claim of its access tokens: ${RESOURCE_TOKEN_CLAIMS.join(' or ')} (repeat for both)`).argParser(collect);

function tokenClaimsOf(value: unknown): ResourceTokenClaim[] {
  const claims = [...new Set((value as string[] | undefined) ?? [])];
  const bad = claims.find((c) => !(RESOURCE_TOKEN_CLAIMS as readonly string[]).includes(c));
  if (bad !== undefined) throw new UsageError(`--token-claim takes ${RESOURCE_TOKEN_CLAIMS.join(' or ')}, not ${JSON.stringify(bad)}`);
  return claims as ResourceTokenClaim[];
}

export function resourcesCommands(program: CliCommand, deps: CliDeps): void {
  const resources = group(program, 'resources', 'APIs (RFC 8707 resource indicators): their scopes, token lifetime and introspectors');

  leaf(resources, {
    name: 'create',
    description: 'register an API and the scopes it defines (exit 4 when the identifier is taken)',
    options: [
      required('--identifier <uri>', 'the API’s resource indicator, an absolute URI without a fragment'),
      new Option('--scope <name=description>', 'a scope the API defines and the words the consent page shows (repeat it for more)').argParser(collect),
      new Option('--name <name>', 'a name for people'),
      new Option('--ttl <duration>', 'access token lifetime for this API (60s to 1d; default: ACCESS_TOKEN_TTL)').argParser(ttl),
      new Option('--no-permissions-from-roles', "people may get any of its scopes a client may ask for (default: only what their roles grant)"),
      tokenClaimOption(),
    ],
    example: "gatehouse resources create --identifier https://api.example.com --scope 'read:orders=Read your orders' --ttl 15m",
    plan(o) {
      const scopes: Record<string, string> = {};
      for (const entry of (o.scope as string[] | undefined) ?? []) {
        const [scope, ...description] = entry.split('=');
        if (!scope) throw new UsageError('--scope takes NAME=Description in plain words');
        scopes[scope] = description.join('=') || scope;
      }
      const identifier = o.identifier as string;
      const name = o.name as string | undefined;
      const lifetime = o.ttl as number | undefined;
      const permissionsFromRoles = o.permissionsFromRoles !== false;
      const tokenClaims = tokenClaimsOf(o.tokenClaim);
      return async (c, out) => {
        const resource = await c.resources.create({ identifier, name, scopes, accessTokenTtl: lifetime ?? c.config.ACCESS_TOKEN_TTL, permissionsFromRoles, tokenClaims });
        await audited(c, { type: 'admin.resource.created', details: { identifier: resource.identifier, scopes: Object.keys(resource.scopes) } });
        out.record({ ...resource });
      };
    },
  }, deps);

  leaf(resources, {
    name: 'list',
    description: 'list the registered APIs',
    example: 'gatehouse resources list',
    plan() {
      return async (c, out) => {
        out.list((await c.resources.list()).map((r) => ({ ...r })), ['identifier', 'name', 'scopes', 'accessTokenTtl', 'permissionsFromRoles', 'tokenClaims']);
      };
    },
  }, deps);

  leaf(resources, {
    name: 'update',
    description: "change how an API's people get scopes: from their roles or not, and the opt-in roles/permissions claims",
    options: [
      required('--identifier <uri>', 'the API'),
      new Option('--permissions-from-roles', "a person's tokens carry only the scopes their roles grant (APIs registered before roles existed: off until set)"),
      new Option('--no-permissions-from-roles', 'any person may get any scope a client may ask for'),
      tokenClaimOption(),
      new Option('--no-token-claims', 'no roles or permissions claims'),
    ],
    example: 'gatehouse resources update --identifier https://api.example.com --permissions-from-roles --token-claim permissions',
    plan(o) {
      const identifier = o.identifier as string;
      const changes = {
        ...(typeof o.permissionsFromRoles === 'boolean' ? { permissionsFromRoles: o.permissionsFromRoles } : {}),
        ...(o.tokenClaims === false ? { tokenClaims: [] } : o.tokenClaim ? { tokenClaims: tokenClaimsOf(o.tokenClaim) } : {}),
      };
      if (!Object.keys(changes).length) throw new UsageError('say what to change: --permissions-from-roles, --no-permissions-from-roles, --token-claim or --no-token-claims');
      return async (c, out) => {
        const resource = await c.resources.update(identifier, changes);
        if (!resource) throw new NotFoundError('no API has this identifier');
        await audited(c, { type: 'admin.resource.updated', details: { identifier, changed: Object.keys(changes) } });
        out.record({ ...resource });
      };
    },
  }, deps);

  leaf(resources, {
    name: 'introspector',
    description: 'let a client (the API’s resource server) introspect tokens issued for the API, or stop it with --remove',
    options: [
      required('--identifier <uri>', 'the API'),
      required('--client-id <id>', 'the resource server’s client'),
      new Option('--remove', 'take the right away instead').default(false),
    ],
    example: 'gatehouse resources introspector --identifier https://api.example.com --client-id orders-api',
    plan(o) {
      const identifier = o.identifier as string;
      const clientId = o.clientId as string;
      const remove = o.remove === true;
      return async (c, out) => {
        if (!(await c.resources.find(identifier))) throw new NotFoundError('no API has this identifier');
        const client = (await c.clients.list()).find((r) => r.clientId === clientId);
        if (!client) throw new NotFoundError('no client has this client_id');
        const current = Array.isArray(client.metadata.gatehouse_introspects) ? (client.metadata.gatehouse_introspects as string[]) : [];
        const next = remove ? current.filter((r) => r !== identifier) : [...current, identifier];
        const metadata = await c.clients.setIntrospects(clientId, next);
        if (!metadata) throw new NotFoundError('no client has this client_id');
        await audited(c, { type: 'admin.client.updated', clientId, details: { gatehouse_introspects: metadata.gatehouse_introspects ?? [] } });
        out.record({ client_id: clientId, gatehouse_introspects: metadata.gatehouse_introspects ?? [] });
      };
    },
  }, deps);
}
