/**
 * WORKERS > 1: this process serves nothing itself. It forks WORKERS copies of Gatehouse (Node cluster),
 * which share PORT, the store and the keys exactly as replicas do, and it supervises them:
 *
 * - the first worker starts alone, so one process runs the store's migrations and creates the first
 *   signing key; the others start once it listens;
 * - a worker that fails before it listens stops everything with exit code 1 (a bad store or encryption key
 *   would fail every worker the same way: its own stderr line says why, and forking again would loop);
 * - a worker that dies later is replaced;
 * - SIGTERM/SIGINT reach every worker, which drains and closes; the primary exits when they have;
 * - /metrics, answered by whichever worker the connection lands on, adds up every worker's metrics here.
 */
import cluster, { type Worker } from 'node:cluster';
import { once } from 'node:events';
import type { Logger } from 'pino';
import type { Config } from './config/schema.js';
import { serveClusterMetrics } from './app/cluster-metrics.js';

export async function runClusterPrimary(config: Pick<Config, 'WORKERS' | 'PORT' | 'ISSUER'>, logger: Logger): Promise<void> {
  const started = Date.now();
  let stopping = false;
  const listening = new Set<Worker>();
  let port = config.PORT;

  serveClusterMetrics(() => [...listening].filter((w) => w.isConnected()));

  const stop = (code: number) => {
    if (stopping) return;
    stopping = true;
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    const timer = setTimeout(() => process.exit(1), 15_000);
    timer.unref();
    Promise.all(workers.map(async (w) => {
      if (w.isDead()) return;
      const exited = once(w, 'exit');
      w.process.kill('SIGTERM');
      await exited;
    })).then(() => process.exit(code), () => process.exit(1));
  };

  const fork = (): Promise<void> => {
    const worker = cluster.fork();
    return new Promise<void>((resolve, reject) => {
      worker.once('listening', (address) => {
        port = address.port;
        listening.add(worker);
        resolve();
      });
      worker.once('exit', (code, signal) => {
        const wasListening = listening.delete(worker);
        if (stopping) return;
        if (!wasListening) {
          reject(new Error(`worker ${String(worker.id)} stopped before it was ready (${signal ?? `exit code ${String(code)}`})`));
          return;
        }
        logger.error({ worker: worker.id, exitCode: code, signal }, 'worker died; starting a replacement');
        fork().catch((err: unknown) => {
          logger.fatal({ err }, 'replacement worker failed to start');
          stop(1);
        });
      });
    });
  };

  process.once('SIGTERM', () => {
    logger.info({ signal: 'SIGTERM' }, 'shutting down');
    stop(0);
  });
  process.once('SIGINT', () => {
    logger.info({ signal: 'SIGINT' }, 'shutting down');
    stop(0);
  });

  try {
    await fork();
    await Promise.all(Array.from({ length: config.WORKERS - 1 }, fork));
  } catch (err) {
    // the worker has printed its own one-line reason on stderr
    logger.error({ err: { message: (err as Error).message } }, 'start-up failed');
    stop(1);
    return;
  }
  logger.info({ issuer: config.ISSUER, port, workers: config.WORKERS, startupMs: Date.now() - started }, 'ready');
}
