/**
 * The one place the CLI builds its context: the settings from the environment (the server's own), then the
 * context the commands run on. Called only after a command has checked its input, so `--help` and usage
 * errors need no settings and open no store.
 */
import { loadConfig } from '../config/load-config.js';
import { createLogger } from '../app/logger.js';
import type { CliContext } from './command-tree.js';

export async function openCliContext(): Promise<CliContext> {
  const config = loadConfig();
  const [{ buildContext }, { DEFAULT_PATHS }] = await Promise.all([import('../app/context.js'), import('../server.js')]);
  return buildContext({ config, logger: createLogger('warn'), ...DEFAULT_PATHS });
}
