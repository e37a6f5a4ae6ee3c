/** gatehouse clients create | list | update | delete | rotate-secret | set-scope | initial-token create */
import { Option } from 'commander';
import { group, leaf, required, type CliCommand, type CliDeps } from '../command-tree.js';
import { NotFoundError, UsageError } from '../exit-codes.js';
import { ttl, overlap } from '../option-values.js';
import { audited, auditedAs } from '../audited.js';
import { parseClientScope } from '../../clients/client-scope.js';

export const CLIENT_COLUMNS = ['client_id', 'client_name', 'token_endpoint_auth_method', 'grant_types', 'scope'];

function clientMetadata(raw: string): Record<string, unknown> {
  let metadata: unknown;
  try {
    metadata = JSON.parse(raw);
  } catch {
    throw new UsageError('--json must be a JSON object of OIDC client metadata');
  }
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) throw new UsageError('--json must be a JSON object');
  return metadata as Record<string, unknown>;
}

export function clientsCommands(program: CliCommand, deps: CliDeps): void {
  const clients = group(program, 'clients', 'OAuth clients (relying parties): register, list, limit their API scopes');

  leaf(clients, {
    name: 'create',
    description: 'register a client from OIDC client metadata; its client_secret is shown only once (exit 4 when the client_id is taken)',
    options: [required('--json <metadata>', 'OIDC client metadata as a JSON object (a client_secret of 32+ characters is kept, for migrations)')],
    example: 'gatehouse clients create --json \'{"client_name":"My app","redirect_uris":["http://localhost:8080/callback"]}\'',
    plan(o) {
      const metadata = clientMetadata(o.json as string);
      return async (c, out) => {
        const method = metadata.token_endpoint_auth_method ?? 'client_secret_basic';
        const client = await c.clients.create(metadata, auditedAs((clientId: string) => ({ type: 'admin.client.created', clientId, details: { token_endpoint_auth_method: method } })));
        out.record(client, { shownOnce: ['client_secret'] });
        if (client.client_secret) out.note('The client_secret is shown only now; it is stored encrypted.');
      };
    },
  }, deps);

  leaf(clients, {
    name: 'list',
    description: 'list the registered clients (never their secrets)',
    example: 'gatehouse clients list --output json',
    plan() {
      return async (c, out) => {
        const rows = (await c.clients.list()).map((r) => ({
          client_id: r.clientId,
          client_name: r.metadata.client_name,
          token_endpoint_auth_method: r.metadata.token_endpoint_auth_method ?? 'client_secret_basic',
          redirect_uris: r.metadata.redirect_uris,
          grant_types: r.metadata.grant_types,
          scope: r.metadata.scope ?? null,
        }));
        out.list(rows, CLIENT_COLUMNS);
      };
    },
  }, deps);

  leaf(clients, {
    name: 'update',
    description: 'change some of a client\'s metadata (a JSON merge patch: null removes a member), validated as at creation',
    options: [required('--client-id <id>', 'the client'), required('--json <patch>', 'the members to change, as a JSON object (not client_id or client_secret)')],
    example: 'gatehouse clients update --client-id my-app --json \'{"redirect_uris":["https://app.example.com/callback"]}\'',
    plan(o) {
      const clientId = o.clientId as string;
      const patch = clientMetadata(o.json as string);
      return async (c, out) => {
        const metadata = await c.clients.patchMetadata(clientId, patch, auditedAs({ type: 'admin.client.updated', clientId, details: { changed: Object.keys(patch) } }));
        if (!metadata) throw new NotFoundError('no client has this client_id');
        out.record(metadata, { shownOnce: ['client_secret'] });
      };
    },
  }, deps);

  leaf(clients, {
    name: 'delete',
    description: 'delete a client: the grants people gave it and every token issued to it are revoked, and its JWT access tokens stop verifying at once',
    options: [required('--client-id <id>', 'the client'), new Option('--yes', 'confirm: this cannot be undone').default(false)],
    example: 'gatehouse clients delete --client-id my-app --yes',
    plan(o) {
      const clientId = o.clientId as string;
      if (o.yes !== true) throw new UsageError('deleting a client cannot be undone: add --yes to confirm');
      return async (c, out) => {
        if (!(await c.clients.find(clientId))) throw new NotFoundError('no client has this client_id');
        await c.clients.delete(clientId, auditedAs({ type: 'admin.client.deleted', clientId }));
        out.record({ deleted: clientId });
      };
    },
  }, deps);

  leaf(clients, {
    name: 'rotate-secret',
    description: 'give a client a new generated secret, shown only once; with --overlap the old one keeps working that long',
    options: [
      required('--client-id <id>', 'the client'),
      new Option('--overlap <duration>', 'how long the old secret still works (0s to 7d), so replicas can be rolled').default(0, '0s').argParser(overlap),
    ],
    example: 'gatehouse clients rotate-secret --client-id my-job --overlap 1h',
    plan(o) {
      const clientId = o.clientId as string;
      const overlapSeconds = o.overlap as number;
      return async (c, out) => {
        const rotated = await c.clients.rotateSecret(clientId, { overlapSeconds }, auditedAs({ type: 'admin.client.secret_rotated', clientId, details: { overlap_seconds: overlapSeconds } }));
        if (!rotated) throw new NotFoundError('no client has this client_id');
        out.record({
          client_id: clientId, client_secret: rotated.client_secret,
          ...(rotated.previous_valid_until ? { previous_secret_valid_until: new Date(rotated.previous_valid_until).toISOString() } : {}),
        }, { shownOnce: ['client_secret'] });
        out.note('The client_secret is shown only now; it is stored encrypted.');
      };
    },
  }, deps);

  leaf(clients, {
    name: 'set-scope',
    description: 'set the API scopes a client may request (a client without scope gets no API scope)',
    options: [required('--client-id <id>', 'the client'), required('--scope <scopes>', "space-separated scopes ('' removes them)")],
    example: "gatehouse clients set-scope --client-id my-job --scope 'openid invoices:read'",
    plan(o) {
      const clientId = o.clientId as string;
      const scope = o.scope as string;
      return async (c, out) => {
        const scopeAfter = [...(parseClientScope(scope) ?? [])].join(' ') || null;
        const metadata = await c.clients.setScope(clientId, scope, auditedAs({ type: 'admin.client.updated', clientId, details: { scope: scopeAfter } }));
        if (!metadata) throw new NotFoundError('no client has this client_id');
        out.record({ client_id: clientId, scope: metadata.scope ?? null });
      };
    },
  }, deps);

  const initialToken = group(clients, 'initial-token', 'RFC 7591 initial access tokens for dynamic registration (POST /reg)');
  leaf(initialToken, {
    name: 'create',
    description: 'create an initial access token, shown only once, stored hashed; it works while DYNAMIC_REGISTRATION is on',
    options: [new Option('--ttl <duration>', 'how long it stays usable (60s to 1d)').default(86400, '1d').argParser(ttl)],
    example: 'gatehouse clients initial-token create --ttl 1h',
    // an initial access token is oidc-provider's own model (its format and storage)
    provider: true,
    plan(o) {
      const expiresIn = o.ttl as number;
      return async (c, out) => {
        const token = new c.providers.current.InitialAccessToken({ expiresIn });
        const value = await token.save();
        const expiresAt = new Date(Date.now() + expiresIn * 1000).toISOString();
        await audited(c, { type: 'admin.client.initial_token.created', details: { expires_at: expiresAt } });
        out.record({ initial_access_token: value, expires_at: expiresAt }, { shownOnce: ['initial_access_token'] });
        out.note('The initial access token is shown only now; it is stored hashed.');
        if (!c.config.DYNAMIC_REGISTRATION) out.note('DYNAMIC_REGISTRATION is off: the token works once it is turned on.');
      };
    },
  }, deps);
}
