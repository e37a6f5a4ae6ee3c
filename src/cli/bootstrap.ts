/**
 * The one place the CLI builds its context: the settings from the environment (the server's own), then the
 * context the commands run on. Called only after a command has checked its input, so `--help` and usage
 * errors need no settings and open no store.
 */
import { loadConfig } from '../config/load-config.js';
import { createLogger } from '../app/logger.js';
import type { CliContext } from './command-tree.js';

export async function openCliContext(needs: { provider: boolean; tenant?: string }): Promise<CliContext> {
  // the lean context (src/app/cli-context.ts): stores, keys and the domain, no timers and no pages;
  // oidc-provider is loaded only when a command uses it, up front when it reads the provider itself
  const config = loadConfig();
  const [{ buildCliContext }, { DEFAULT_PATHS }] = await Promise.all([import('../app/cli-context.js'), import('../app/paths.js')]);
  return buildCliContext({ config, logger: createLogger('warn'), ...DEFAULT_PATHS, providerUpFront: needs.provider, tenant: needs.tenant });
}
