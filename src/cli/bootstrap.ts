/**
 * The one place the CLI builds its context: the settings from the environment (the server's own), then the
 * context the commands run on. Called only after a command has checked its input, so `--help` and usage
 * errors need no settings and open no store.
 */
import { loadConfig } from '../config/load-config.js';
import { createLogger } from '../app/logger.js';
import type { CliContext } from './command-tree.js';

export async function openCliContext(needs: { provider: boolean }): Promise<CliContext> {
  // Every command gets the whole context for now. The lean one (stores, keys, domain; no provider, no timers)
  // is for the commands with needs.provider false: all but `clients initial-token create`.
  const config = loadConfig();
  const [{ buildContext }, { DEFAULT_PATHS }] = await Promise.all([import('../app/context.js'), import('../server.js')]);
  return buildContext({ config, logger: createLogger('warn'), ...DEFAULT_PATHS });
}
