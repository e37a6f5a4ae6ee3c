/** gatehouse tenants create | list | show | update | delete (src/tenants) */
import { Option } from 'commander';
import type { TenantRecord } from '../../../adapters/contract.js';
import { tenantIssuer } from '../../tenants/tenant-issuer.js';
import { shownSettings } from '../../tenants/tenant-settings.js';
import { group, leaf, required, type CliCommand, type CliContext, type CliDeps } from '../command-tree.js';
import { ConflictError, NotFoundError, UsageError } from '../exit-codes.js';
import { audited } from '../audited.js';

const shown = (c: Pick<CliContext, 'config'>, t: TenantRecord) => ({
  id: t.id, name: t.name, host: t.host, issuer: tenantIssuer(c.config.ISSUER, t), version: t.version, settings: shownSettings(t.settings),
  created_at: new Date(t.createdAt).toISOString(), updated_at: new Date(t.updatedAt).toISOString(),
});

/** --settings '{"policy": {...}, "branding": {...}}': JSON, checked by the registry (exit 2 when it is not JSON). */
function settingsOf(value: unknown): unknown {
  if (value === undefined) return undefined;
  try {
    return JSON.parse(String(value)) as unknown;
  } catch {
    throw new UsageError('--settings takes JSON, e.g. \'{"policy":{"passwordMinLength":16},"branding":{"name":"Acme"}}\'');
  }
}

/** The registry is the default tenant's: `tenants` commands with --tenant are refused. */
function registryOf(c: CliContext) {
  if (!c.tenancy) throw new UsageError('tenants are managed from the default tenant: leave out --tenant');
  return c.tenancy.registry;
}

const hostOption = new Option('--host <name>', 'its own host name (issuer https://<name>) instead of ISSUER/t/<id>; "" removes it');
const settingsOption = new Option('--settings <json>', 'policy, branding and federation as JSON (README: Tenants); each of them given replaces the stored one');

export function tenantsCommands(program: CliCommand, deps: CliDeps): void {
  const tenants = group(program, 'tenants', 'tenants: isolated realms with their own issuer, keys, users, clients, policy and branding');

  leaf(tenants, {
    name: 'create',
    description: 'create a tenant (exit 4 when the id or host is taken)',
    options: [required('--id <id>', 'a DNS label: lower-case letters, digits, hyphens; never changes'), required('--name <name>', 'its display name'), hostOption, settingsOption],
    example: 'gatehouse tenants create --id acme --name \'Acme Corp\' --settings \'{"policy":{"mfaRequired":true}}\'',
    plan(o) {
      const input = { id: o.id as string, name: o.name as string, host: o.host as string | undefined, settings: settingsOf(o.settings) };
      return async (c, out) => {
        const tenant = await registryOf(c).create(input);
        await audited(c, { type: 'tenant.created', details: { tenant: tenant.id } });
        out.record(shown(c, tenant));
      };
    },
  }, deps);

  leaf(tenants, {
    name: 'list',
    description: 'list the tenants (not the default tenant)',
    example: 'gatehouse tenants list',
    plan() {
      return async (c, out) => {
        const rows: ReturnType<typeof shown>[] = [];
        for (let after: string | null = null; ;) {
          const page = await registryOf(c).list({ limit: 1000, after });
          rows.push(...page.tenants.map((t) => shown(c, t)));
          if (!page.next) break;
          after = page.next;
        }
        out.list(rows, ['id', 'name', 'issuer', 'version']);
      };
    },
  }, deps);

  leaf(tenants, {
    name: 'show',
    description: 'print a tenant with its settings',
    options: [required('--id <id>', 'the tenant')],
    example: 'gatehouse tenants show --id acme',
    plan(o) {
      const id = o.id as string;
      return async (c, out) => {
        const tenant = await registryOf(c).find(id);
        if (!tenant) throw new NotFoundError(`no tenant has the id ${id}`);
        out.record(shown(c, tenant));
      };
    },
  }, deps);

  leaf(tenants, {
    name: 'update',
    description: 'change a tenant\'s name, host or settings',
    options: [required('--id <id>', 'the tenant'), new Option('--name <name>', 'its display name'), hostOption, settingsOption],
    example: 'gatehouse tenants update --id acme --settings \'{"branding":{"name":"Acme","primaryColor":"#aa0000"}}\'',
    plan(o) {
      const id = o.id as string;
      const given = settingsOf(o.settings) as { policy?: unknown; branding?: unknown } | undefined;
      if (given !== undefined && (given === null || typeof given !== 'object' || Array.isArray(given))) throw new UsageError('--settings takes a JSON object');
      const name = o.name as string | undefined;
      const host = o.host as string | undefined;
      if (name === undefined && host === undefined && given === undefined) throw new UsageError('tenants update takes --name, --host or --settings');
      return async (c, out) => {
        const found = await registryOf(c).find(id);
        if (!found) throw new NotFoundError(`no tenant has the id ${id}`);
        // each of policy, branding and federation given replaces the stored one (tenant-registry.ts)
        const updated = await registryOf(c).update(id, { name, host: host === '' ? null : host, settings: given }, found.version);
        if (updated === undefined) throw new NotFoundError(`no tenant has the id ${id}`);
        if (updated === 'stale') throw new ConflictError('the tenant changed meanwhile; run the command again');
        await audited(c, { type: 'tenant.updated', details: { tenant: id, changed: [name && 'name', host !== undefined && 'host', given && 'settings'].filter(Boolean) } });
        out.record(shown(c, updated));
      };
    },
  }, deps);

  leaf(tenants, {
    name: 'delete',
    description: 'delete a tenant with all its data: users, clients, keys, sessions, audit log (exit 3 when there is none)',
    options: [required('--id <id>', 'the tenant'), new Option('--yes', 'confirm: everything the tenant holds is erased').default(false)],
    example: 'gatehouse tenants delete --id acme --yes',
    plan(o) {
      const id = o.id as string;
      if (o.yes !== true) throw new UsageError('deleting a tenant takes --yes');
      return async (c, out) => {
        if (!(await registryOf(c).delete(id))) throw new NotFoundError(`no tenant has the id ${id}`);
        await audited(c, { type: 'tenant.deleted', details: { tenant: id } });
        out.record({ id, deleted: true });
      };
    },
  }, deps);
}
