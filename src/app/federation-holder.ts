/**
 * The federation part of an app, swappable (issue 17: providers written through the management API take
 * effect without a restart). Everything that uses upstream federation (the login page's buttons and CSP,
 * the federated sign-in step, the /federation/* callbacks, the single-logout hooks) reads `current` on
 * each request, so a change swaps one object rather than rebuilding the app. A tenant's app has a fixed
 * one (its app is rebuilt when its settings change, tenants/tenant-apps.ts); the default tenant's reads
 * its stored providers' version again after `freshnessMs` (TENANT_SETTINGS_REFRESH, the bound the
 * tenants' apps have on other replicas) and at once after this replica wrote them (`refresh(true)`).
 * A flow already sent upstream to a provider that is then removed fails at its callback with a 4xx page.
 * The holder also owns the federation's timer (its URL-sourced IdP metadata refresh): once the server's
 * jobs start it, each swap stops the old federation's and starts the new one's, so a SAML IdP written
 * through the API refreshes without a restart and a removed one leaves no interval behind.
 */
import type { Middleware } from 'koa';
import type { Logger } from 'pino';
import type { FederationConfig } from '../config/federation/federation-file.js';
import type { Federation } from './build-federation.js';
import { startMetadataRefresh, type MetadataRefreshTimer } from '../federation/saml/metadata-refresh.js';

export type FederationHolder = {
  /** the federation in service now; undefined when there are no providers */
  readonly current: Federation | undefined;
  /** the configuration it was built from */
  readonly config: FederationConfig | null;
  /** reads the stored providers' version when `freshnessMs` passed (or `force`), and rebuilds when it changed */
  refresh(force?: boolean): Promise<void>;
  /**
   * The timers of the federation in service (its IdP metadata refresh), and at each swap the new one's
   * instead of the old one's; only the server's jobs (app/jobs.ts) start them. `stop` ends them.
   */
  startTimers(): { stop(): void };
  /** whether a metadata refresh timer runs now (at most one: the federation in service's) */
  readonly refreshing: boolean;
};

export async function createFederationHolder(d: {
  build(config: FederationConfig): Promise<Federation>;
  /** the configuration in service at the version; absent: fixed (a tenant's app) */
  stored?: { version(): Promise<number>; configAt(): Promise<{ config: FederationConfig | null; version: number }> };
  fixed: FederationConfig | null;
  freshnessMs: number;
  logger: Logger;
  now?: () => number;
}): Promise<FederationHolder> {
  const now = d.now ?? Date.now;
  let config = d.fixed;
  let version = 0;
  if (d.stored) ({ config, version } = await d.stored.configAt());
  let current = config ? await d.build(config) : undefined;
  let checkedAt = now();
  let running: Promise<void> | undefined;
  let timersOn = false;
  let timer: MetadataRefreshTimer | undefined;
  const restartTimers = () => {
    timer?.stop();
    timer = timersOn && current ? startMetadataRefresh(current.metadata, d.logger) : undefined;
  };

  async function reload(force: boolean): Promise<void> {
    const stored = d.stored!;
    checkedAt = now();
    if (!force && (await stored.version()) === version) return;
    const next = await stored.configAt();
    if (next.version === version && !force) return;
    const built = next.config ? await d.build(next.config) : undefined;
    ({ config, version } = next);
    current = built;
    restartTimers();
    d.logger.info({ version }, 'upstream identity providers changed');
  }

  return {
    get current() {
      return current;
    },
    get config() {
      return config;
    },
    get refreshing() {
      return timer !== undefined;
    },
    startTimers() {
      timersOn = true;
      restartTimers();
      return {
        stop() {
          timersOn = false;
          restartTimers();
        },
      };
    },
    async refresh(force = false) {
      if (!d.stored || (!force && now() - checkedAt < d.freshnessMs)) return;
      // one reload at a time; a forced one waits for the one running, then reads again
      if (running && !force) return running;
      const previous = running;
      const mine = (async () => {
        await previous?.catch(() => undefined);
        await reload(force);
      })().catch((err: unknown) => {
        d.logger.error({ err }, 'reloading the upstream identity providers failed (the ones in service stay)');
      }).finally(() => {
        if (running === mine) running = undefined;
      });
      running = mine;
      return mine;
    },
  };
}

/** Before the routers: the default tenant's stored providers are read again when stale. */
export function freshFederation(holder: FederationHolder): Middleware {
  return async (_ctx, next) => {
    await holder.refresh();
    await next();
  };
}

/** The /federation/* callbacks (SAML ACS and SLO, OIDC upstream callbacks) of the federation in service. */
export function federationRoutes(holder: FederationHolder): Middleware {
  // one dispatch per federation in service (a swap makes the next one)
  const dispatchOf = new WeakMap<Federation, Middleware[]>();
  return async (ctx, next) => {
    const f = holder.current;
    if (!f || !ctx.path.startsWith('/federation/')) return next();
    let routes = dispatchOf.get(f);
    if (!routes) dispatchOf.set(f, (routes = [f.samlRouter, f.oidcRouter].flatMap((r) => (r ? [r.routes() as unknown as Middleware] : []))));
    // each router falls through to the next one when no route of it matches
    const chain = routes.reduceRight<() => Promise<unknown>>((rest, route) => () => route(ctx, rest as never) as Promise<unknown>, next);
    await chain();
  };
}

/** SP-initiated single logout around oidc-provider's routes, when the federation in service has any. */
export function federationProviderHooks(holder: FederationHolder): Middleware {
  return (ctx, next) => {
    const hooks = holder.current?.providerHooks;
    return hooks ? hooks(ctx, next) : next();
  };
}
