/** gatehouse users create | set-password | roles, and the lifecycle commands of users-lifecycle.ts */
import { Option } from 'commander';
import type { AccountRecord } from '../../../adapters/contract.js';
import { group, leaf, required, type CliCommand, type CliDeps } from '../command-tree.js';
import { NotFoundError } from '../exit-codes.js';
import { audited, auditedAs } from '../audited.js';
import { sessionsEndedEvent } from '../../accounts/sign-out-everywhere.js';
import { usersLifecycleCommands } from './users-lifecycle.js';

export function usersCommands(program: CliCommand, deps: CliDeps): void {
  const users = group(program, 'users', 'people who sign in: create, list, show, disable, delete them; passwords, roles, email, lockouts, factors');

  leaf(users, {
    name: 'create',
    description: 'create an account (exit 4 when the email is taken)',
    options: [
      required('--email <email>', 'the sign-in email (stored lower-cased)'),
      required('--password <password>', 'the password; the password policy applies'),
      new Option('--name <name>', 'the display name (the name claim)'),
      new Option('--verified', 'the email is already verified').default(false),
    ],
    example: "gatehouse users create --email ada@example.com --password 'a long passphrase' --name 'Ada Lovelace' --verified",
    plan(o) {
      const input = { email: o.email as string, password: o.password as string, name: o.name as string | undefined, emailVerified: o.verified === true };
      return async (c, out) => {
        const account = await c.accounts.create(input, auditedAs((a: AccountRecord) => ({ type: 'admin.user.created', accountId: a.id, details: { email: a.email } })));
        out.record({ id: account.id, email: account.email, name: account.name, email_verified: account.emailVerified });
      };
    },
  }, deps);

  leaf(users, {
    name: 'set-password',
    description: 'set a new password and sign the account out everywhere (sessions ended, grants revoked)',
    options: [required('--email <email>', 'the account’s email'), required('--password <password>', 'the new password; the password policy and history apply')],
    example: "gatehouse users set-password --email ada@example.com --password 'another long passphrase'",
    plan(o) {
      const email = o.email as string;
      const password = o.password as string;
      return async (c, out) => {
        const account = await c.accounts.findByEmail(email);
        if (!account) throw new NotFoundError(`no account has the email ${email}`);
        await c.accounts.setPassword(account, password, {}, auditedAs({ type: 'admin.password.set', accountId: account.id }));
        const signedOut = await c.signOutEverywhere(account.id);
        c.accountMail.passwordChanged(account, 'admin', `${c.config.ISSUER}/password/forgot`);
        const ended = sessionsEndedEvent(account.id, 'password_changed', signedOut);
        if (ended) await audited(c, ended);
        out.record({ id: account.id, email: account.email, sessions_ended: signedOut.sessions, grants_revoked: signedOut.grants });
      };
    },
  }, deps);

  leaf(users, {
    name: 'roles',
    description: 'print an account’s roles, or replace them with --set',
    options: [required('--email <email>', 'the account’s email'), new Option('--set <roles>', "comma-separated role names that replace the current ones ('' clears them)")],
    example: 'gatehouse users roles --email ada@example.com --set admin,ops',
    plan(o) {
      const email = o.email as string;
      const set = o.set as string | undefined;
      return async (c, out) => {
        const found = await c.accounts.findByEmail(email);
        if (!found) throw new NotFoundError('no account has this email');
        const account = set === undefined ? found : await c.accounts.setRoles(email, set.split(','));
        out.record({ email: account.email, roles: account.roles });
      };
    },
  }, deps);
  usersLifecycleCommands(users, deps);
}
