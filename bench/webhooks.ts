/**
 * Issue 16 item 6: what webhooks cost the path that emits them, and how fast they go out. For each store
 * (BENCH_WEBHOOK_STORES: sqlite, postgres-redis), one Gatehouse server (a child pinned to BENCH_SERVER_CPU,
 * production mode) and a receiver in this process that answers 200 at once:
 * 1. the token endpoint (client_credentials, closed loop, BENCH_CONNECTIONS) with no webhook endpoint;
 * 2. the same with an endpoint subscribed to `token.issued` (each token request writes its audit row and
 *    its outbox row in one statement or transaction, and the server delivers meanwhile, on the same core);
 *    then the backlog drained after the load stops;
 * 3. delivery latency end to end (the event's timestamp, taken when it is recorded, to its arrival at the
 *    receiver) at a paced light load (BENCH_WEBHOOK_RATE token requests per second).
 * Delivery throughput is the events delivered per second from the first arrival to the last.
 *
 * Run by `npm run bench` with `BENCH_ONLY=webhooks`, or on its own, built: `node dist/bench/webhooks.js`.
 * Settings: BENCH_SECONDS (5), BENCH_CONNECTIONS (32), BENCH_WEBHOOK_RATE (50), BENCH_WEBHOOK_STORES
 * (sqlite,postgres-redis), BENCH_SERVER_CPU (1).
 */
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Pool } from 'undici';
import { closedLoop, paced, type LatencySummary } from './load.js';
import { startServer } from './server-process.js';
import { benchServerEnv } from './bench-data.js';
import { freePort } from '../test/helpers/services/free-port.js';
import { startPostgres } from '../test/helpers/services/postgres-server.js';
import { startRedis } from '../test/helpers/services/redis-server.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'dist', 'src', 'cli.js');
const run = promisify(execFile);
const log = (msg: string) => process.stderr.write(`[bench webhooks] ${msg}\n`);

export type WebhookStoreKind = 'sqlite' | 'postgres-redis';
export type WebhookBenchRun = {
  store: WebhookStoreKind;
  tokenRate: { none: number; subscribed: number };
  tokenLatencyMs: { none: LatencySummary; subscribed: LatencySummary };
  delivered: number;
  deliveryRate: number;
  drainSeconds: number;
  endToEndMs: { underLoad: LatencySummary; paced: LatencySummary; pacedRate: number };
};

function summary(samples: number[]): LatencySummary {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] ?? NaN;
  const r = (n: number) => Math.round(n * 10) / 10;
  return { p50: r(at(0.5)), p95: r(at(0.95)), p99: r(at(0.99)), max: r(s.at(-1) ?? NaN), mean: r(s.reduce((a, b) => a + b, 0) / (s.length || 1)) };
}

/** A receiver that answers 200 and notes when each event arrived, against the event's own timestamp. */
async function receiver() {
  const arrivals: { at: number; latency: number }[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = Date.now();
      res.writeHead(200).end();
      const body = JSON.parse(Buffer.concat(chunks).toString()) as { timestamp: string };
      arrivals.push({ at, latency: at - Date.parse(body.timestamp) });
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`, arrivals, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** Resolves once at least `expected` arrived and nothing more for a second (or after two minutes). */
async function quiet(arrivals: { at: number }[], expected: number): Promise<void> {
  for (const deadline = Date.now() + 120_000; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 100))) {
    const last = arrivals.at(-1)?.at ?? 0;
    if (arrivals.length >= expected && Date.now() - last > 1000) return;
  }
}

async function cli(env: Record<string, string>, ...args: string[]): Promise<Record<string, unknown>> {
  const { stdout } = await run(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH ?? '', ...env } });
  return JSON.parse(stdout) as Record<string, unknown>;
}

export async function runWebhookBench(o: { store: WebhookStoreKind; seconds: number; connections: number; rate: number; serverCpu: string }): Promise<WebhookBenchRun> {
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-webhooks-'));
  const services: { stop(): Promise<void> }[] = [];
  const hooks = await receiver();
  try {
    let storeEnv: Record<string, string> = { DATABASE_URL: `sqlite:${join(dataDir, 'webhooks.db')}` };
    if (o.store === 'postgres-redis') {
      const [postgres, redis] = await Promise.all([startPostgres(), startRedis()]);
      services.push(postgres, redis);
      storeEnv = { DATABASE_URL: postgres.url, REDIS_URL: redis.url };
    }
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    const env = benchServerEnv(origin, storeEnv, { PORT: String(port), OUTBOUND_PRIVATE_HOSTS: '127.0.0.1' });
    await cli(env, 'resources', 'create', '--identifier', 'https://api.bench.test', '--scope', 'read:things=Read things');
    const client = await cli(env, 'clients', 'create', '--json', JSON.stringify({ client_name: 'Bench service', grant_types: ['client_credentials'], response_types: [], redirect_uris: [], scope: 'read:things' }));
    const authorization = `Basic ${Buffer.from(`${encodeURIComponent(String(client.client_id))}:${encodeURIComponent(String(client.client_secret))}`).toString('base64')}`;
    const server = await startServer({ name: 'gatehouse', script: join(ROOT, 'dist', 'src', 'main.js'), env, origin, readyPath: '/health/ready', cpus: o.serverCpu });
    const pool = new Pool(origin, { connections: o.connections, pipelining: 1 });
    try {
      const body = new URLSearchParams({ grant_type: 'client_credentials', resource: 'https://api.bench.test', scope: 'read:things' }).toString();
      const token = async () => {
        const res = await pool.request({ method: 'POST', path: '/token', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization }, body });
        const text = await res.body.text();
        if (res.statusCode !== 200) throw new Error(`token: ${res.statusCode} ${text.slice(0, 200)}`);
      };
      await closedLoop(token, { concurrency: o.connections, seconds: 2 }); // warm-up
      const none = await closedLoop(token, { concurrency: o.connections, seconds: o.seconds });
      log(`${o.store}: token endpoint without a webhook: ${none.rate.toFixed(0)}/s, p50 ${none.latencyMs.p50} ms`);

      await cli(env, 'webhooks', 'create', '--url', hooks.url, '--event', 'token.issued');
      await new Promise((resolve) => setTimeout(resolve, 1500)); // one poll: every replica's worker sees the endpoint
      hooks.arrivals.length = 0;
      const loadStart = Date.now();
      const subscribed = await closedLoop(token, { concurrency: o.connections, seconds: o.seconds });
      const loadEnd = Date.now();
      log(`${o.store}: token endpoint with token.issued subscribed: ${subscribed.rate.toFixed(0)}/s, p50 ${subscribed.latencyMs.p50} ms`);
      // the backlog: every token issued reaches the receiver; drained when nothing more arrives for a second
      await quiet(hooks.arrivals, subscribed.ok);
      const delivered = hooks.arrivals.length;
      const first = Math.min(...hooks.arrivals.map((a) => a.at));
      const last = Math.max(...hooks.arrivals.map((a) => a.at));
      const deliveryRate = delivered / Math.max((last - Math.min(first, loadStart)) / 1000, 0.001);
      const underLoad = summary(hooks.arrivals.map((a) => a.latency));
      log(`${o.store}: ${delivered} of ${subscribed.ok} events delivered, ${deliveryRate.toFixed(0)} events/s, drained ${((last - loadEnd) / 1000).toFixed(1)} s after the load; end to end p50 ${underLoad.p50} ms, p99 ${underLoad.p99} ms`);

      hooks.arrivals.length = 0;
      const light = await paced(token, { rate: o.rate, seconds: o.seconds });
      await quiet(hooks.arrivals, light.ok);
      const pacedLatency = summary(hooks.arrivals.map((a) => a.latency));
      log(`${o.store}: at ${o.rate} tokens/s: end to end p50 ${pacedLatency.p50} ms, p99 ${pacedLatency.p99} ms`);
      return {
        store: o.store, tokenRate: { none: none.rate, subscribed: subscribed.rate }, tokenLatencyMs: { none: none.latencyMs, subscribed: subscribed.latencyMs },
        delivered, deliveryRate, drainSeconds: (last - loadEnd) / 1000, endToEndMs: { underLoad, paced: pacedLatency, pacedRate: o.rate },
      };
    } finally {
      await pool.close();
      await server.stop();
    }
  } finally {
    await hooks.close();
    await Promise.all(services.map((s) => s.stop()));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export function webhookMarkdown(runs: WebhookBenchRun[]): string {
  const f = (n: number) => n.toFixed(0);
  return [
    '### Webhooks (issue 16)',
    '',
    '| store | token/s, no webhook | token/s, token.issued subscribed | delivered events/s | drain after load | end to end p50 / p99 (full load) | end to end p50 / p99 (paced) |',
    '|---|---|---|---|---|---|---|',
    ...runs.map((r) => `| ${r.store} | ${f(r.tokenRate.none)} | ${f(r.tokenRate.subscribed)} (${f((r.tokenRate.subscribed / r.tokenRate.none - 1) * 100)} %) | ${f(r.deliveryRate)} | ${r.drainSeconds.toFixed(1)} s | ${r.endToEndMs.underLoad.p50} / ${r.endToEndMs.underLoad.p99} ms | ${r.endToEndMs.paced.p50} / ${r.endToEndMs.paced.p99} ms at ${r.endToEndMs.pacedRate}/s |`),
  ].join('\n');
}

export async function runWebhooksBench(env = process.env): Promise<{ runs: WebhookBenchRun[]; markdown: string }> {
  const stores = (env.BENCH_WEBHOOK_STORES ?? 'sqlite,postgres-redis').split(',') as WebhookStoreKind[];
  const runs: WebhookBenchRun[] = [];
  for (const store of stores) {
    runs.push(await runWebhookBench({
      store, seconds: Number(env.BENCH_SECONDS ?? 5), connections: Number(env.BENCH_CONNECTIONS ?? 32), rate: Number(env.BENCH_WEBHOOK_RATE ?? 50), serverCpu: env.BENCH_SERVER_CPU ?? '1',
    }));
  }
  return { runs, markdown: webhookMarkdown(runs) };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { runs, markdown } = await runWebhooksBench();
  process.stdout.write(`${markdown}\n\n${JSON.stringify(runs, null, 2)}\n`);
}
