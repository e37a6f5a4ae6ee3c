/**
 * The account lifecycle's pages: registration, email verification, password reset, and the pages of the
 * lifecycle prompts (verify_email, update_password), which the interaction router shows by prompt name.
 */
import Router from '@koa/router';
import type { PromptPage } from '../oidc/interaction.js';
import type { LifecycleDeps } from './lifecycle-deps.js';
import { addRegistrationRoutes } from './registration-routes.js';
import { addVerificationRoutes } from './verification-routes.js';
import { addPasswordRoutes } from './password-routes.js';

export type { LifecycleDeps } from './lifecycle-deps.js';

export function createLifecycleRouter(deps: LifecycleDeps): { router: Router; promptPages: Record<string, PromptPage> } {
  const router = new Router();
  addRegistrationRoutes(router, deps);
  const { verifyEmailPrompt } = addVerificationRoutes(router, deps);
  const { updatePasswordPrompt } = addPasswordRoutes(router, deps);
  return { router, promptPages: { verify_email: verifyEmailPrompt, update_password: updatePasswordPrompt } };
}
