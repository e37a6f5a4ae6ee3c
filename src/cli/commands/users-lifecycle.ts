/**
 * gatehouse users list | show | disable | enable | delete | unlock | set-email | reset-factors: the CLI door
 * onto the account lifecycle service (src/accounts/account-lifecycle.ts), which the management API calls too.
 */
import { userInfo } from 'node:os';
import { Option } from 'commander';
import { leaf, required, type CliCommand, type CliDeps } from '../command-tree.js';
import { integerFrom1To, pointInTime } from '../option-values.js';
import { UsageError } from '../exit-codes.js';
import { DEFAULT_SCOPE, type AccountRef, type Actor } from '../../accounts/account-lifecycle.js';
import type { AccountRecord, AccountStatus } from '../../../adapters/contract.js';

const USER_COLUMNS = ['id', 'email', 'name', 'status', 'roles', 'created_at', 'last_login_at'];

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

export const userRow = (a: AccountRecord) => ({
  id: a.id,
  email: a.email,
  email_verified: a.emailVerified,
  name: a.name,
  status: a.disabledAt === null ? 'active' : 'disabled',
  roles: a.roles,
  created_at: iso(a.createdAt),
  updated_at: iso(a.updatedAt),
  disabled_at: iso(a.disabledAt),
  last_login_at: iso(a.lastLoginAt),
});

/** The operator, as the audit log records them. */
function cliActor(): Actor {
  let operator = 'unknown';
  try {
    operator = userInfo().username;
  } catch {
    // no passwd entry (some containers): the event is still recorded
  }
  return { via: 'cli', operator, source: { userAgent: 'gatehouse-cli' } };
}

/** `--email` or `--id`, exactly one. */
const target = [new Option('--email <email>', 'the account’s email (any letter case)'), new Option('--id <id>', 'the account’s id (the sub claim)')];

function refOf(o: Record<string, unknown>): AccountRef {
  if (typeof o.email === 'string' && typeof o.id === 'string') throw new UsageError('give --email or --id, not both');
  if (typeof o.id === 'string') return { id: o.id };
  if (typeof o.email === 'string') return { email: o.email };
  throw new UsageError("required option '--email <email>' or '--id <id>' not specified");
}

export function usersLifecycleCommands(users: CliCommand, deps: CliDeps): void {
  leaf(users, {
    name: 'list',
    description: 'list accounts, oldest first, a page at a time (the next page’s cursor is printed on stderr)',
    options: [
      new Option('--email-prefix <prefix>', 'emails that start with this (any letter case)'),
      new Option('--name <text>', 'names that contain this (any letter case)'),
      new Option('--status <status>', 'active or disabled').choices(['active', 'disabled']),
      new Option('--role <role>', 'accounts that hold this role (set here or granted upstream)'),
      new Option('--created-after <when>', 'created at or after (24h, 7d, or an ISO 8601 date-time)').argParser(pointInTime),
      new Option('--created-before <when>', 'created before (24h, 7d, or an ISO 8601 date-time)').argParser(pointInTime),
      new Option('--last-login-after <when>', 'last signed in at or after (24h, 7d, or an ISO 8601 date-time)').argParser(pointInTime),
      new Option('--last-login-before <when>', 'last signed in before (24h, 7d, or an ISO 8601 date-time)').argParser(pointInTime),
      new Option('--limit <n>', 'accounts per page (1 to 1000)').default(50).argParser(integerFrom1To(1000)),
      new Option('--cursor <cursor>', 'the page after this one (printed by the previous page)'),
    ],
    example: 'gatehouse users list --status disabled --email-prefix ada --output json',
    plan(o) {
      const query = {
        limit: o.limit as number,
        cursor: (o.cursor as string | undefined) ?? null,
        emailPrefix: o.emailPrefix as string | undefined,
        name: o.name as string | undefined,
        status: o.status as AccountStatus | undefined,
        role: o.role as string | undefined,
        createdAfter: o.createdAfter as number | undefined,
        createdBefore: o.createdBefore as number | undefined,
        lastLoginAfter: o.lastLoginAfter as number | undefined,
        lastLoginBefore: o.lastLoginBefore as number | undefined,
      };
      return async (c, out) => {
        const page = await c.accountLifecycle.list({ scope: DEFAULT_SCOPE, query });
        out.list(page.accounts.map(userRow), USER_COLUMNS);
        if (page.next) out.note(`more accounts: --cursor ${page.next}`);
      };
    },
  }, deps);

  leaf(users, {
    name: 'show',
    description: 'print one account: status, roles, second factors (never their secrets), upstream links, sessions and grants',
    options: target,
    example: 'gatehouse users show --email ada@example.com',
    plan(o) {
      const account = refOf(o);
      return async (c, out) => {
        const d = await c.accountLifecycle.show({ scope: DEFAULT_SCOPE, account });
        out.record({
          ...userRow(d.account), roles: d.roles,
          totp: d.factors.totp, webauthn_credentials: d.factors.webauthn, recovery_codes_left: d.factors.recoveryCodesLeft,
          links: d.links.map((l) => l.providerId), sessions: d.sessions, grants: d.grants,
        });
      };
    },
  }, deps);

  leaf(users, {
    name: 'disable',
    description: 'stop an account signing in by any method; its sessions end (apps told by back-channel logout) and its grants and tokens are revoked',
    options: [...target, new Option('--note <text>', 'why, for the audit log (no secrets)')],
    example: "gatehouse users disable --email ada@example.com --note 'left the company'",
    plan(o) {
      const account = refOf(o);
      const note = o.note as string | undefined;
      return async (c, out) => {
        const r = await c.accountLifecycle.disable({ scope: DEFAULT_SCOPE, account, by: cliActor(), reason: note });
        out.record({ ...userRow(r.account), sessions_ended: r.sessionsEnded, grants_revoked: r.grantsRevoked });
      };
    },
  }, deps);

  leaf(users, {
    name: 'enable',
    description: 'let a disabled account sign in again (its ended sessions and revoked grants stay ended)',
    options: target,
    example: 'gatehouse users enable --email ada@example.com',
    plan(o) {
      const account = refOf(o);
      return async (c, out) => {
        const r = await c.accountLifecycle.enable({ scope: DEFAULT_SCOPE, account, by: cliActor() });
        out.record(userRow(r.account));
      };
    },
  }, deps);

  leaf(users, {
    name: 'delete',
    description: 'erase an account: it, its factors, links, password history, sessions, grants and tokens go; its audit events stay under a pseudonym',
    options: [...target, new Option('--yes', 'confirm: this cannot be undone').default(false)],
    example: 'gatehouse users delete --email ada@example.com --yes',
    plan(o) {
      const account = refOf(o);
      if (o.yes !== true) throw new UsageError('deleting an account cannot be undone: add --yes to confirm');
      return async (c, out) => {
        const r = await c.accountLifecycle.erase({ scope: DEFAULT_SCOPE, account, by: cliActor() });
        out.record({ deleted: true, audit_pseudonym: r.pseudonym, audit_events_kept: r.auditEventsKept, sessions_ended: r.sessionsEnded, grants_revoked: r.grantsRevoked });
      };
    },
  }, deps);

  leaf(users, {
    name: 'unlock',
    description: 'clear an account’s sign-in and second-factor lockouts, those of its directory (LDAP) entries included',
    options: target,
    example: 'gatehouse users unlock --email ada@example.com',
    plan(o) {
      const account = refOf(o);
      return async (c, out) => {
        const r = await c.accountLifecycle.unlock({ scope: DEFAULT_SCOPE, account, by: cliActor() });
        out.record({ id: r.account.id, email: r.account.email, unlocked: true });
      };
    },
  }, deps);

  leaf(users, {
    name: 'set-email',
    description: 'change an account’s sign-in email; the new address gets a verification link unless --verified (exit 4 when another account has it)',
    options: [...target, required('--new-email <email>', 'the new address'), new Option('--verified', 'the new address is known to be the person’s').default(false)],
    example: 'gatehouse users set-email --email ada@example.com --new-email ada@example.org',
    plan(o) {
      const account = refOf(o);
      const email = o.newEmail as string;
      const verified = o.verified === true;
      return async (c, out) => {
        const r = await c.accountLifecycle.setEmail({ scope: DEFAULT_SCOPE, account, email, verified, by: cliActor() });
        out.record({ ...userRow(r.account), verification_sent: r.verificationSent });
      };
    },
  }, deps);

  leaf(users, {
    name: 'reset-factors',
    description: 'remove every second factor (authenticator app, security keys, passkeys) and recovery code of an account',
    options: target,
    example: 'gatehouse users reset-factors --email ada@example.com',
    plan(o) {
      const account = refOf(o);
      return async (c, out) => {
        const r = await c.accountLifecycle.resetFactors({ scope: DEFAULT_SCOPE, account, by: cliActor() });
        out.record({ id: r.account.id, email: r.account.email, totp_removed: r.totpRemoved, webauthn_removed: r.webauthnRemoved, recovery_codes_removed: true });
      };
    },
  }, deps);
}
