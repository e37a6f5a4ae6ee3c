/**
 * Builds the context and the app, listens, and starts the jobs (app/jobs.ts): what main.ts runs, and what tests boot on port 0.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import type { Logger } from 'pino';
import type { Config } from './config/schema.js';
import { buildContext, type AppContext } from './app/context.js';
import { createApp } from './app/create-app.js';
import { createMetricsApp, createMetricsRouter } from './app/metrics-endpoint.js';
import { startJobs } from './app/jobs.js';
import { DEFAULT_PATHS } from './app/paths.js';
import { buildTenantApp } from './app/tenant-app.js';
import { createTenantApps, type TenantApps } from './tenants/tenant-apps.js';
import { createHostTenants, tenantDispatch } from './tenants/tenant-dispatch.js';
import { tenantPathPrefix } from './tenants/tenant-issuer.js';

export { DEFAULT_PATHS } from './app/paths.js';

function createTenantAppsOf(context: AppContext, config: Config, logger: Logger, paths: typeof DEFAULT_PATHS): TenantApps {
  const { storeOf, registry, openSealed } = context.tenancy!;
  const apps = createTenantApps({
    find: (id) => registry.find(id),
    build: (tenant) => buildTenantApp({ config, logger, ...paths, metrics: context.metrics, accountResources: context.accountResources, storeOf, openSealed, registry }, tenant),
    capacity: config.TENANT_CACHE_SIZE,
    freshnessMs: config.TENANT_SETTINGS_REFRESH * 1000,
    logger,
  });
  registry.onChange((id) => apps.forget(id));
  return apps;
}

export type RunningServer = { url: string; port: number; context: AppContext; server: Server; close(): Promise<void> };

export async function startServer(config: Config, logger: Logger, paths = DEFAULT_PATHS): Promise<RunningServer> {
  const context = await buildContext({ config, logger, ...paths });
  const app = createApp(context);
  // the tenants' apps, each built on its tenant's first request (src/tenants/tenant-apps.ts)
  const tenantApps = context.tenancy && createTenantAppsOf(context, config, logger, paths);
  const handler = tenantApps
    ? tenantDispatch({
      prefix: tenantPathPrefix(config.ISSUER), apps: tenantApps, fallback: app.callback(), logger, issuerHost: new URL(config.ISSUER).hostname,
      hostTenants: createHostTenants({ findByHost: (host) => context.tenancy!.registry.findByHost(host), freshnessMs: config.TENANT_SETTINGS_REFRESH * 1000, capacity: 10_000 }),
    })
    : app.callback();
  const server = createServer(handler);
  // Node's defaults for a server behind a load balancer: keep idle sockets a little longer than typical LB timeouts
  server.keepAliveTimeout = 65_000;
  server.listen(config.PORT, config.HOST);
  try {
    await once(server, 'listening');
  } catch (err) {
    await tenantApps?.close();
    await context.close();
    throw err;
  }
  const port = (server.address() as AddressInfo).port;
  // METRICS_PORT: /metrics alone on its own port (with WORKERS > 1 every worker listens on it, and the
  // answer is still every worker's sum, cluster-metrics.ts)
  let metricsServer: Server | undefined;
  if (config.METRICS_PORT) {
    metricsServer = createServer(createMetricsApp(createMetricsRouter({ metrics: context.metrics, token: config.METRICS_TOKEN })).callback());
    metricsServer.listen(config.METRICS_PORT, config.HOST);
    try {
      await once(metricsServer, 'listening');
    } catch (err) {
      server.close();
      await tenantApps?.close();
      await context.close();
      throw err;
    }
  }
  // the timers (sweeps, key refresh) run in the server only, once it listens
  const jobs = startJobs(context);
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    context,
    server,
    close() {
      closing ??= (async () => {
        server.closeIdleConnections();
        metricsServer?.closeIdleConnections();
        await Promise.all([server, metricsServer].map((s) => s && new Promise<void>((resolve) => s.close(() => resolve()))));
        jobs.stop();
        await tenantApps?.close();
        await context.close();
      })();
      return closing;
    },
  };
}
