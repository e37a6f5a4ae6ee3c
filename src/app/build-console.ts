/**
 * The operators' console (/console, src/console/): built only when CONSOLE_ENABLED, from the same domain
 * services the management API calls (one implementation, two doors).
 */
import type Router from '@koa/router';

export type ConsoleRouter = Router;

export async function buildConsole(): Promise<ConsoleRouter | undefined> {
  return undefined;
}
