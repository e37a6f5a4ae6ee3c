/**
 * Just-in-time accounts for people who sign in upstream. An account is found by its link
 * (provider id, external id), never by email alone; it is created on the first login and its email, name
 * and the roles that provider grants are refreshed at every login. Federated accounts have no password.
 *
 * Each provider stays in its lane (the email domains of the federation file): an asserted address in a
 * domain another provider owns is refused; one outside the provider's `emailDomains` is stored unverified
 * or refused (`outsideDomains`), and never links to an existing account. An address that already belongs
 * to a local account or to another provider's account is never attached: the sign-in is refused with a
 * friendly page, and the existing account (credentials, email, links) is left as it was.
 *
 * Email conflicts (the README's "refreshed at every login" has this one exception): when a linked person's
 * upstream email changes to an address another account holds, the provider's `emailConflict` rule decides.
 * "keep" signs them in with their old email and says so (`emailKept`, for the page to tell the person);
 * "refuse" refuses the sign-in. Either way the audit log records `federation.email_conflict`, and the
 * other account is never touched.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/audit-log.js';
import { DuplicateError, type AccountRecord, type AccountStore, type FederationStore } from '../../adapters/contract.js';
import type { ProviderCommon } from '../config/federation/provider-common.js';
import type { UpstreamProfile } from './upstream-profile.js';

export type FederatedAccounts = ReturnType<typeof createFederatedAccounts>;

export type FederatedSignIn =
  /** `emailKept`: the upstream asserted `asserted`, which another account holds; the account kept its email */
  | { account: AccountRecord; created: boolean; emailKept?: { kept: string; asserted: string } }
  /** a linked person's new upstream email belongs to another account, and the provider's rule is "refuse" */
  | { refused: 'email_conflict' }
  /** the email belongs to an account this upstream identity is not linked to */
  | { refused: 'email_taken' }
  /** the email is in a domain another provider owns, or outside this one's with outsideDomains "refuse" */
  | { refused: 'email_not_allowed' }
  /** the account is disabled (an operator's decision): no method signs it in */
  | { refused: 'account_disabled' };

export function createFederatedAccounts(deps: {
  accounts: Pick<AccountStore, 'create' | 'findById' | 'findByEmail' | 'update'>;
  federation: FederationStore;
  /** email domain → the provider that owns it (FederationConfig.domainOwners) */
  domainOwners: ReadonlyMap<string, string>;
  logger: Pick<Logger, 'warn' | 'info'>;
  audit: Pick<AuditLog, 'record' | 'recordChange'>;
}) {
  const { accounts, federation, logger } = deps;

  /** Where the asserted email stands for this provider: its own domain, outside, or not allowed at all. */
  function lane(provider: ProviderCommon, email: string): 'inside' | 'outside' | 'refused' {
    const domain = email.slice(email.lastIndexOf('@') + 1);
    const owner = deps.domainOwners.get(domain);
    if (owner !== undefined && owner !== provider.id) return 'refused';
    if (provider.emailDomains.includes(domain)) return 'inside';
    return provider.outsideDomains === 'refuse' ? 'refused' : 'outside';
  }

  /** Linking by email: opt-in, verified and in-lane only, and never to a local or another provider's account. */
  async function mayLink(existing: AccountRecord, provider: ProviderCommon, inside: boolean, verified: boolean): Promise<boolean> {
    if (!provider.linkExistingAccounts || !inside || !verified || existing.passwordHash !== null) return false;
    return (await federation.linksOf(existing.id)).every((l) => l.providerId === provider.id);
  }

  /** `federation.email_conflict`: which account, which provider, what was done; the addresses stay out of the audit log. */
  async function auditConflict(account: AccountRecord, provider: ProviderCommon, outcome: 'kept' | 'refused') {
    logger.warn({ provider: provider.id, accountId: account.id, outcome }, 'upstream email belongs to another account');
    await deps.audit.record({
      type: 'federation.email_conflict', result: outcome === 'kept' ? 'success' : 'failure', accountId: account.id,
      reason: outcome === 'kept' ? 'email_kept' : 'sign_in_refused', details: { provider: provider.id, rule: provider.emailConflict },
    });
  }

  /** Another account holds the asserted email (normalised, as the store keys it). */
  async function heldByAnother(account: AccountRecord, email: string): Promise<boolean> {
    const holder = await accounts.findByEmail(email);
    return holder !== undefined && holder.id !== account.id;
  }

  type Refreshed = { account: AccountRecord; created: false; emailKept?: { kept: string; asserted: string } } | { refused: 'email_conflict' };

  async function refresh(account: AccountRecord, provider: ProviderCommon, externalId: string, asserted: UpstreamProfile): Promise<Refreshed> {
    let profile = asserted;
    let emailKept: { kept: string; asserted: string } | undefined;
    // checked first, so that "refuse" refuses before anything of the account changes
    if (asserted.email !== account.email && (await heldByAnother(account, asserted.email))) {
      if (provider.emailConflict === 'refuse') {
        await auditConflict(account, provider, 'refused');
        return { refused: 'email_conflict' };
      }
      await auditConflict(account, provider, 'kept');
      emailKept = { kept: account.email, asserted: asserted.email };
      profile = { ...asserted, email: account.email, emailVerified: account.emailVerified };
    }
    const updated = await apply(account, provider, externalId, profile);
    if ('refused' in updated) return updated;
    return emailKept ? { ...updated, emailKept: updated.emailKept ?? emailKept } : updated;
  }

  async function apply(account: AccountRecord, provider: ProviderCommon, externalId: string, profile: UpstreamProfile): Promise<Refreshed> {
    const now = Date.now();
    let emailKept: { kept: string; asserted: string } | undefined;
    const changes: Partial<AccountRecord> = {};
    if (profile.email !== account.email) changes.email = profile.email;
    if (profile.name !== null && profile.name !== account.name) changes.name = profile.name;
    // an upstream that vouches for its emails marks the address verified; "not verified" only replaces a
    // verified flag together with a new address (a flag set for the old one says nothing about the new)
    if (profile.emailVerified !== account.emailVerified && (changes.email !== undefined || profile.emailVerified)) changes.emailVerified = profile.emailVerified;
    let updated = account;
    if (Object.keys(changes).length > 0) {
      try {
        await deps.audit.recordChange(
          () => accounts.update(account.id, { ...changes, updatedAt: now }),
          { event: { type: 'federation.account_updated', accountId: account.id, details: { provider: provider.id, changed: Object.keys(changes) } } },
        );
        updated = { ...account, ...changes, updatedAt: now };
      } catch (err) {
        if (!(err instanceof DuplicateError)) throw err;
        // Another account took the new address since the check above (a race): the same rule applies.
        if (provider.emailConflict === 'refuse') {
          await auditConflict(account, provider, 'refused');
          return { refused: 'email_conflict' };
        }
        await auditConflict(account, provider, 'kept');
        emailKept = { kept: account.email, asserted: profile.email };
        const { email: _ignored, emailVerified: _flag, ...rest } = changes;
        if (Object.keys(rest).length > 0) await accounts.update(account.id, { ...rest, updatedAt: now });
        updated = { ...account, ...rest, updatedAt: now };
      }
    }
    await federation.touchLink(provider.id, externalId, now);
    await federation.setRoles(account.id, provider.id, profile.roles);
    return emailKept ? { account: updated, created: false, emailKept } : { account: updated, created: false };
  }

  async function link(account: AccountRecord, provider: ProviderCommon, externalId: string): Promise<void> {
    const now = Date.now();
    await federation.createLink({ providerId: provider.id, externalId, accountId: account.id, createdAt: now, lastLoginAt: now });
  }

  return {
    async signIn(provider: ProviderCommon, externalId: string, asserted: UpstreamProfile): Promise<FederatedSignIn> {
      const where = lane(provider, asserted.email);
      if (where === 'refused') {
        logger.warn({ provider: provider.id, domain: asserted.email.slice(asserted.email.lastIndexOf('@') + 1) }, 'upstream asserted an email outside its domains; refused');
        return { refused: 'email_not_allowed' };
      }
      // verified only inside the provider's own domains, and only if it vouches for its emails
      const profile: UpstreamProfile = { ...asserted, emailVerified: where === 'inside' && asserted.emailVerified };
      const linked = await federation.findLink(provider.id, externalId);
      const linkedAccount = linked && (await accounts.findById(linked.accountId));
      if (linkedAccount?.disabledAt != null) return { refused: 'account_disabled' };
      if (linkedAccount) return refresh(linkedAccount, provider, externalId, profile);

      const existing = await accounts.findByEmail(profile.email);
      // never linked to, nor refreshed: a disabled account stays as the operator left it
      if (existing?.disabledAt != null) return { refused: 'account_disabled' };
      if (existing) {
        if (!(await mayLink(existing, provider, where === 'inside', profile.emailVerified))) {
          logger.info({ provider: provider.id, accountId: existing.id }, 'upstream email belongs to an unlinked account; not attached');
          return { refused: 'email_taken' };
        }
        await link(existing, provider, externalId);
        logger.info({ provider: provider.id, accountId: existing.id }, 'linked an upstream identity to an existing account by email');
        return refresh(existing, provider, externalId, profile);
      }

      const now = Date.now();
      const account: AccountRecord = {
        id: randomUUID(), email: profile.email, emailVerified: profile.emailVerified, name: profile.name,
        passwordHash: null, roles: [], createdAt: now, updatedAt: now, disabledAt: null, lastLoginAt: null,
      };
      try {
        // the account, its link and upstream roles, and the user.created event (src/events/audit-events.ts): one unit
        await deps.audit.recordChange(async () => {
          await accounts.create(account);
          await link(account, provider, externalId);
          await federation.setRoles(account.id, provider.id, profile.roles);
        }, { event: { type: 'federation.account_created', accountId: account.id, details: { provider: provider.id, email: account.email } } });
      } catch (err) {
        if (!(err instanceof DuplicateError)) throw err;
        // a concurrent first login of the same person may have won the race: use its link if it made one
        const raced = await federation.findLink(provider.id, externalId);
        const racedAccount = raced && (await accounts.findById(raced.accountId));
        if (racedAccount?.disabledAt != null) return { refused: 'account_disabled' };
        if (racedAccount) return { account: racedAccount, created: false };
        return { refused: 'email_taken' };
      }
      return { account, created: true };
    },
  };
}
