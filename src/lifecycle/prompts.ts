/**
 * Two interaction prompts after login, as oidc-provider prompts and checks (STYLE.md §6):
 *   update_password — the account's password is older than PASSWORD_MAX_AGE: choose a new one first;
 *   verify_email    — the client requires a verified email (gatehouse_require_verified_email) and the
 *                     account's is not: nothing is issued until it is.
 * Both are re-checked on every authorization request, so a session cannot skip them.
 */
import { interactionPolicy } from 'oidc-provider';
import type { AccountRecord } from '../../adapters/contract.js';
import { REQUIRE_VERIFIED_EMAIL, clientFlag } from './client-metadata.js';

const { Prompt, Check } = interactionPolicy;

export type LifecyclePromptDeps = {
  findAccount(id: string): Promise<AccountRecord | undefined>;
  passwordExpired(account: AccountRecord): Promise<boolean>;
};

export function createLifecyclePrompts(deps: LifecyclePromptDeps): InstanceType<typeof Prompt>[] {
  const account = async (ctx: { oidc: { session?: { accountId?: string } } }) => {
    const id = ctx.oidc.session?.accountId;
    return id ? deps.findAccount(id) : undefined;
  };
  return [
    new Prompt(
      { name: 'update_password', requestable: false },
      new Check('password_expired', 'the password has expired and must be changed', async (ctx) => {
        const found = await account(ctx);
        return found && (await deps.passwordExpired(found)) ? Check.REQUEST_PROMPT : Check.NO_NEED_TO_PROMPT;
      }),
    ),
    new Prompt(
      { name: 'verify_email', requestable: false },
      new Check('email_not_verified', 'the client requires a verified email address', async (ctx) => {
        if (!clientFlag(ctx.oidc.client, REQUIRE_VERIFIED_EMAIL)) return Check.NO_NEED_TO_PROMPT;
        const found = await account(ctx);
        return found && !found.emailVerified ? Check.REQUEST_PROMPT : Check.NO_NEED_TO_PROMPT;
      }),
    ),
  ];
}
