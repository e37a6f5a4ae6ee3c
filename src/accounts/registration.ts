/**
 * Self-registration. The answer never says whether the address already has an account: a new address
 * gets an unverified account and a verification link; a known one gets no new account, and its owner a
 * "someone tried to register with your email" mail instead. Both paths hash the password (the duplicate
 * is found by the store's unique index after hashing) and write one audit event; the token and the mail
 * are made after the response, so both take the same time.
 */
import { DuplicateError, type AccountRecord } from '../../adapters/contract.js';
import type { AuditLog, AuditSource } from '../audit/audit-log.js';
import type { AccountMail } from '../mail/account-mail.js';
import { InvalidAccountInput, type AccountService } from './accounts.js';
import type { EmailVerification } from './email-verification.js';

export type Registration = ReturnType<typeof createRegistration>;

/**
 * Why a display name typed at registration is refused, or null. Names are shown on pages and in mails, so
 * they carry no markup ('<', '>'), no control, private-use or bidirectional-override characters (which can
 * reorder or hide text), and nothing that reads as a link: a scheme, "www.", or a host-like word.
 */
const NAME_RULES: { code: NameRefusalCode; refuses: RegExp; message: string }[] = [
  { code: 'characters', refuses: /[\p{Cc}\p{Co}\p{Cs}\p{Cn}\u2028\u2029\u202A-\u202E\u2066-\u2069]/u, message: 'Use only letters, spaces and punctuation in your name.' },
  { code: 'markup', refuses: /[<>]/, message: 'Your name cannot contain < or >.' },
  { code: 'address', refuses: /[a-z][a-z0-9+.-]*:\/\/|\bwww\.|[\p{L}\p{N}-]+\.[\p{L}]{2,}\b|\bmailto:/iu, message: 'Your name cannot contain a web address or a domain name.' },
];

export type NameRefusalCode = 'characters' | 'markup' | 'address';

/** An address outside REGISTRATION_EMAIL_DOMAINS (the page names the domains that are open). */
export class RegistrationDomainRefused extends InvalidAccountInput {
  constructor(domain: string, readonly domains: readonly string[]) {
    super(`registration refused for the domain ${domain}`, `Registration is open to addresses at ${domains.join(', ')} only.`);
  }
}

export function nameRefusal(name: string): string | null {
  return NAME_RULES.find((r) => r.refuses.test(name))?.message ?? null;
}

/** The same rule as `nameRefusal`, as a code: pages show `lifecycle.name.<code>` in the person's language. */
export function nameRefusalCode(name: string): NameRefusalCode | null {
  return NAME_RULES.find((r) => r.refuses.test(name))?.code ?? null;
}

/** `locale`: the registration pages' (issue 20), which the verification mail is written in */
export type RegistrationInput = { email: string; password: string; name?: string; interactionUid?: string | null; locale?: string };

export function createRegistration(deps: {
  issuer: string;
  accounts: Pick<AccountService, 'create' | 'findByEmail'>;
  verification: Pick<EmailVerification, 'send'>;
  mail: Pick<AccountMail, 'registrationAttempt'>;
  audit: Pick<AuditLog, 'record'>;
  /** runs after the response (Mailer.later): the same time for new and taken addresses */
  later(what: string, job: () => Promise<void>): void;
  /** self-registration only with an address at one of these domains (REGISTRATION_EMAIL_DOMAINS); empty: any */
  emailDomains?: readonly string[];
  /** the per-address mail quota (EMAIL_LIMIT_PER_ACCOUNT): takes one mail, false when the address had its share */
  mayMail(email: string): Promise<boolean>;
}) {
  const { accounts, audit } = deps;
  return {
    /**
     * Registers, or tells the existing owner. Throws InvalidAccountInput / PasswordRefused for input the
     * page must show (those depend only on what was typed, never on whether the account exists).
     * Returns the new account, or undefined when the address was taken; the page shows the same either way.
     */
    async register(input: RegistrationInput, from: AuditSource): Promise<AccountRecord | undefined> {
      // depends only on what was typed: says nothing of whether the address has an account
      const domain = input.email.trim().toLowerCase().split('@').pop() ?? '';
      if (deps.emailDomains?.length && !deps.emailDomains.includes(domain)) {
        throw new RegistrationDomainRefused(domain, deps.emailDomains);
      }
      let account: AccountRecord;
      try {
        account = await accounts.create(
          { email: input.email, password: input.password, name: input.name, emailVerified: false },
          { event: (a) => ({ type: 'registration', accountId: a.id, details: { email: a.email } }), from },
        );
      } catch (err) {
        if (!(err instanceof DuplicateError)) throw err;
        await audit.record({ type: 'registration', result: 'failure', reason: 'email_taken', details: { email: input.email } }, from);
        deps.later('registration attempt mail', async () => {
          const owner = await accounts.findByEmail(input.email);
          if (owner && (await deps.mayMail(owner.email))) deps.mail.registrationAttempt({ ...owner, locale: owner.locale ?? input.locale }, `${deps.issuer}/password/forgot`);
        });
        return undefined;
      }
      deps.later('verification mail', () => deps.verification.send(account, { interactionUid: input.interactionUid, locale: input.locale }, from));
      return account;
    },
  };
}
