/** gatehouse roles create | list | show | delete | grant | revoke | assign | unassign (src/roles) */
import { Option } from 'commander';
import type { RolePermission, RoleRecord } from '../../../adapters/contract.js';
import { group, leaf, required, type CliCommand, type CliDeps, type CliContext } from '../command-tree.js';
import { NotFoundError, UsageError } from '../exit-codes.js';
import { collect } from '../option-values.js';
import { auditedAs } from '../audited.js';
import { recordedIfDone } from '../../audit/audit-log.js';

/** `--permission API=SCOPE`: the API's resource indicator, `=`, one of its scopes (the last `=` splits). */
function permissionsOf(values: string[] | undefined): RolePermission[] {
  return (values ?? []).map((value) => {
    const at = value.lastIndexOf('=');
    if (at < 1 || at === value.length - 1) throw new UsageError(`--permission takes API=SCOPE (e.g. https://api.example.com=orders:read), not ${JSON.stringify(value)}`);
    return { resource: value.slice(0, at), scope: value.slice(at + 1) };
  });
}

const permissionOption = (what: string) =>
  new Option('--permission <api=scope>', `${what}: the API's identifier, =, one of its scopes (repeat it for more)`).argParser(collect);

const shown = (r: RoleRecord) => ({ name: r.name, description: r.description, system: r.system, permissions: r.permissions.map((p) => `${p.resource}=${p.scope}`) });

async function roleOrNotFound(c: CliContext, name: string): Promise<RoleRecord> {
  const role = await c.roles.find(name);
  if (!role) throw new NotFoundError(`no role is named ${name}`);
  return role;
}

export function rolesCommands(program: CliCommand, deps: CliDeps): void {
  const roles = group(program, 'roles', 'roles: named sets of permissions (API scopes), assigned to people directly or by federation mappings');

  leaf(roles, {
    name: 'create',
    description: 'create a role (exit 4 when the name is taken)',
    options: [
      required('--name <name>', 'letters, digits and _ . : -, at most 64'),
      new Option('--description <words>', 'what the role is for'),
      permissionOption('a permission'),
    ],
    example: "gatehouse roles create --name orders-reader --description 'Reads orders' --permission https://api.example.com=orders:read",
    plan(o) {
      const input = { name: o.name as string, description: o.description as string | undefined, permissions: permissionsOf(o.permission as string[] | undefined) };
      return async (c, out) => {
        const role = await c.roles.create(input, auditedAs((r: RoleRecord) => ({ type: 'role.created', details: { role: r.name, permissions: r.permissions.length } })));
        out.record(shown(role));
      };
    },
  }, deps);

  leaf(roles, {
    name: 'list',
    description: 'list the roles',
    example: 'gatehouse roles list',
    plan() {
      return async (c, out) => {
        out.list((await c.roles.list()).map(shown), ['name', 'system', 'description', 'permissions']);
      };
    },
  }, deps);

  leaf(roles, {
    name: 'show',
    description: 'print a role and its permissions',
    options: [required('--name <name>', 'the role')],
    example: 'gatehouse roles show --name gatehouse:admin',
    plan(o) {
      const name = o.name as string;
      return async (c, out) => out.record(shown(await roleOrNotFound(c, name)));
    },
  }, deps);

  leaf(roles, {
    name: 'delete',
    description: 'delete a role and every assignment of it (built-in and federation-mapped roles: exit 4)',
    options: [required('--name <name>', 'the role'), new Option('--yes', 'confirm: people holding it lose its permissions at their next token').default(false)],
    example: 'gatehouse roles delete --name orders-reader --yes',
    plan(o) {
      const name = o.name as string;
      if (o.yes !== true) throw new UsageError('deleting a role takes --yes');
      return async (c, out) => {
        if (!(await c.roles.delete(name, auditedAs({ type: 'role.deleted', details: { role: name } })))) throw new NotFoundError(`no role is named ${name}`);
        out.record({ name, deleted: true });
      };
    },
  }, deps);

  for (const [verb, description] of [['grant', 'add permissions to a role'], ['revoke', 'take permissions away from a role']] as const) {
    leaf(roles, {
      name: verb,
      description,
      options: [required('--name <name>', 'the role'), permissionOption('the permission')],
      example: `gatehouse roles ${verb} --name orders-reader --permission https://api.example.com=orders:read`,
      plan(o) {
        const name = o.name as string;
        const permissions = permissionsOf(o.permission as string[] | undefined);
        if (!permissions.length) throw new UsageError(`roles ${verb} takes at least one --permission`);
        return async (c, out) => {
          const role = await c.roles[verb](name, permissions, auditedAs({ type: 'role.updated', details: { role: name, changed: [verb === 'grant' ? 'permissions.added' : 'permissions.removed'] } }));
          if (!role) throw new NotFoundError(`no role is named ${name}`);
          out.record(shown(role));
        };
      },
    }, deps);
  }

  for (const [verb, description] of [['assign', 'assign a role to a person'], ['unassign', 'remove a role assigned to a person']] as const) {
    leaf(roles, {
      name: verb,
      description,
      options: [required('--name <name>', 'the role'), required('--email <email>', 'the account’s email')],
      example: `gatehouse roles ${verb} --name orders-reader --email ada@example.com`,
      plan(o) {
        const name = o.name as string;
        const email = o.email as string;
        return async (c, out) => {
          const account = await c.accounts.findByEmail(email);
          if (!account) throw new NotFoundError(`no account has the email ${email}`);
          // one atomic step (AccountStore.changeRole), its event only when it changed something
          await c.accounts.changeRole(account.id, name, verb === 'assign', recordedIfDone(auditedAs({ type: verb === 'assign' ? 'role.assigned' : 'role.removed', accountId: account.id, details: { role: name } })));
          const updated = (await c.accounts.findById(account.id)) ?? account;
          out.record({ email: updated.email, roles: updated.roles });
        };
      },
    }, deps);
  }
}
