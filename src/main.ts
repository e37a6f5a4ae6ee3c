/**
 * Entry point: load + validate config → build the context → create the app → listen; graceful shutdown.
 */
import cluster from 'node:cluster';
import { loadConfig, ConfigError } from './config/load-config.js';
import { createLogger } from './app/logger.js';
import { seedDemo, demoBanner } from './dev/seed-demo.js';
import { runtimeAdvice } from './oidc/runtime-support.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`gatehouse: configuration error: ${err.message}\n`);
    process.exit(1);
  }
  const logger = createLogger(config.LOG_LEVEL);
  if (config.WORKERS > 1 && cluster.isPrimary) {
    const { runClusterPrimary } = await import('./cluster-primary.js');
    await runClusterPrimary(config, logger.child({ role: 'primary' }));
    return;
  }
  // Imported only once the configuration is good: oidc-provider prints notices when it loads (e.g. about the
  // Node version), and a configuration error must be the one line an operator reads.
  const { startServer } = await import('./server.js');
  // that import printed oidc-provider's runtime warning if this Node is older than it supports; say which to
  // use, once (each cluster worker loads the provider and prints the library's own line)
  const advice = runtimeAdvice();
  if (advice && (cluster.worker?.id ?? 1) === 1) process.stderr.write(`${advice}\n`);
  const started = Date.now();
  const workerLogger = cluster.worker ? logger.child({ worker: cluster.worker.id }) : logger;
  const running = await startServer(config, workerLogger);
  // one demo seed and one banner, from the first process (the cluster primary starts worker 1 alone)
  if (config.NODE_ENV === 'development' && config.SEED_DEMO && (cluster.worker?.id ?? 1) === 1) {
    await seedDemo(running.context);
    process.stdout.write(demoBanner(config.ISSUER, config.CONSOLE_ENABLED));
  }
  workerLogger.info(
    { issuer: config.ISSUER, port: running.port, store: running.context.store.kind, startupMs: Date.now() - started },
    cluster.worker ? 'worker ready' : 'ready',
  );

  const shutdown = (signal: string) => {
    workerLogger.info({ signal }, 'shutting down');
    const timer = setTimeout(() => process.exit(1), 10_000);
    timer.unref();
    running.close().then(() => process.exit(0), (err: unknown) => {
      workerLogger.error({ err }, 'shutdown failed');
      process.exit(1);
    });
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`gatehouse: failed to start: ${message}\n`);
  process.exit(1);
});
