/** What the lifecycle pages receive from the composition root (src/app/), one object for every route module. */
import type { Context, Next } from 'koa';
import type { ProviderHost } from '../oidc/provider-host.js';
import type { Interaction } from '../oidc/interaction.js';
import type { Renderer } from '../http/render.js';
import type { AccountService } from '../accounts/accounts.js';
import type { Registration } from '../accounts/registration.js';
import type { EmailVerification } from '../accounts/email-verification.js';
import type { PasswordReset } from '../accounts/password-reset.js';
import type { PasswordPolicy } from '../accounts/password-policy.js';
import type { AuditLog } from '../audit/audit-log.js';
import type { AccountMail } from '../mail/account-mail.js';
import type { Quota } from '../protection/lockout.js';

export type LifecycleDeps = {
  issuer: string;
  secureCookies: boolean;
  registrationEnabled: boolean;
  termsUrl: string;
  interactionTtlSeconds: number;
  providers: ProviderHost;
  render: Renderer;
  csrf: (ctx: Context, next: Next) => Promise<void>;
  loadInteraction(ctx: Context): Promise<Interaction>;
  accounts: AccountService;
  policy: Pick<PasswordPolicy, 'minLength' | 'maxLength'>;
  registration: Registration;
  verification: EmailVerification;
  reset: PasswordReset;
  mail: Pick<AccountMail, 'passwordChanged'>;
  audit: Pick<AuditLog, 'record'>;
  limits: { registrationPerIp: Quota; emailPerIp: Quota };
};
