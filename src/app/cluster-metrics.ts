/**
 * One Prometheus scrape across WORKERS processes. A scrape through the shared port lands on one worker, which
 * asks the primary; the primary collects every *listening* worker's registry as JSON and adds them up with
 * prom-client's aggregation (counters and histograms summed, gauges per their aggregator). Only listening
 * workers are asked: one still starting (or replacing a dead one) has nothing to say yet and would only make
 * the scrape wait.
 */
import cluster, { type Worker } from 'node:cluster';
import { randomUUID } from 'node:crypto';
import { AggregatorRegistry, type Registry } from 'prom-client';

const SCRAPE = 'gatehouse:metrics-scrape';
const SCRAPED = 'gatehouse:metrics-scraped';
const COLLECT = 'gatehouse:metrics-collect';
const COLLECTED = 'gatehouse:metrics-collected';
const TIMEOUT_MS = 5_000;

type Message = { type?: unknown; id?: unknown; text?: unknown; error?: unknown; metrics?: unknown };

/** Worker: answers the primary's collection requests with this process's registry. */
export function answerMetricsCollection(registry: Registry): void {
  process.on('message', (m: Message) => {
    if (m?.type !== COLLECT) return;
    registry.getMetricsAsJSON().then(
      (metrics) => process.send?.({ type: COLLECTED, id: m.id, metrics }),
      (err: unknown) => process.send?.({ type: COLLECTED, id: m.id, error: String(err) }),
    );
  });
}

/** Worker: the text exposition of every worker's metrics added up, from the primary. */
export function requestClusterMetrics(): Promise<string> {
  const id = randomUUID();
  return new Promise<string>((resolve, reject) => {
    const onMessage = (m: Message) => {
      if (m?.type !== SCRAPED || m.id !== id) return;
      done();
      if (typeof m.text === 'string') resolve(m.text);
      else reject(new Error(`cluster metrics: ${String(m.error)}`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error('cluster metrics: the primary did not answer'));
    }, TIMEOUT_MS * 2);
    const done = () => {
      clearTimeout(timer);
      process.off('message', onMessage);
    };
    process.on('message', onMessage);
    process.send?.({ type: SCRAPE, id });
  });
}

/** Primary: answers scrapes by collecting from the workers `listening()` returns. */
export function serveClusterMetrics(listening: () => Worker[]): void {
  const pending = new Map<string, (m: Message) => void>();
  cluster.on('message', (worker, m: Message) => {
    if (m?.type === COLLECTED && typeof m.id === 'string') pending.get(m.id)?.(m);
    if (m?.type !== SCRAPE) return;
    collect(listening(), pending).then(
      (text) => worker.isConnected() && worker.send({ type: SCRAPED, id: m.id, text }),
      (err: unknown) => worker.isConnected() && worker.send({ type: SCRAPED, id: m.id, error: err instanceof Error ? err.message : String(err) }),
    );
  });
}

async function collect(workers: Worker[], pending: Map<string, (m: Message) => void>): Promise<string> {
  const answers = await Promise.all(
    workers.map(
      (worker) =>
        new Promise<object[]>((resolve, reject) => {
          const id = randomUUID();
          const timer = setTimeout(() => settle({ error: `worker ${String(worker.id)} did not answer` }), TIMEOUT_MS);
          const settle = (m: Message) => {
            clearTimeout(timer);
            pending.delete(id);
            if (Array.isArray(m.metrics)) resolve(m.metrics as object[]);
            else reject(new Error(String(m.error)));
          };
          pending.set(id, settle);
          worker.send({ type: COLLECT, id });
        }),
    ),
  );
  return AggregatorRegistry.aggregate(answers).metrics();
}
