/**
 * Issue 21 item 4: memory with BENCH_MEMORY_SESSIONS (100,000) live sessions and
 * BENCH_MEMORY_REFRESH_TOKENS (1,000,000) refresh tokens stored, on each of BENCH_MEMORY_STORES (SQLite;
 * PostgreSQL + Redis). For each store: the bench records through the CLI (targets.ts's), then the
 * sessions, their grants and the refresh tokens straight through the adapter contract (memory-seed.ts),
 * before the server starts; then Gatehouse as targets.ts starts it (a child process pinned to
 * BENCH_SERVER_CPU, production mode), and:
 *
 * 1. the server's RSS and heap after a full GC (probe.ts) once it is ready and idle: the issue's target is
 *    an idle RSS under 100 MB, whatever the store holds;
 * 2. a few requests (discovery, client_credentials, one sign-in through the pages, one refresh of its
 *    token, userinfo with the refreshed access token), then RSS after GC again;
 * 3. the store's size (SQLite file + WAL; pg_database_size; Redis used_memory) and its rows per model.
 *
 * Run by `npm run bench` only when named (`BENCH_ONLY=memory`), or on its own, built:
 * `node dist/bench/memory.js`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { startServer, type ServerProcess } from './server-process.js';
import { createGatehouseRecords } from './setup-data.js';
import { API, SERVICE_CLIENT_ID, SPA, benchServerEnv } from './bench-data.js';
import { codePath, runWhenMain } from './code.js';
import { loginFlow } from './scenarios.js';
import { loadAverage } from './machine-load.js';
import { seedSessionsAndTokens, type SeedResult } from './memory-seed.js';
import { mb, startBenchStore, storeKinds, storeSizeText, type StoreKind, type StoreSize } from './bench-store.js';
import { openStore } from '../adapters/index.js';
import { freePort } from '../test/helpers/services/free-port.js';

export type MemorySettings = { sessions: number; refreshTokens: number; stores: StoreKind[]; serverCpu: string; bcryptCost: number };

export function memorySettings(env: NodeJS.ProcessEnv = process.env): MemorySettings {
  const num = (name: string, fallback: number) => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const v = Number(raw);
    if (!Number.isInteger(v) || v < 1) throw new Error(`${name}=${raw}: expected a positive integer`);
    return v;
  };
  return {
    sessions: num('BENCH_MEMORY_SESSIONS', 100_000),
    refreshTokens: num('BENCH_MEMORY_REFRESH_TOKENS', 1_000_000),
    stores: storeKinds('BENCH_MEMORY_STORES', env.BENCH_MEMORY_STORES, 'sqlite,postgres-redis'),
    serverCpu: env.BENCH_SERVER_CPU ?? '1',
    // one sign-in: the cost hardly matters; the production default keeps the server as deployed
    bcryptCost: num('BENCH_BCRYPT_COST', 12),
  };
}

type Memory = Awaited<ReturnType<ServerProcess['memory']>>;
export type MemoryRun = {
  store: StoreKind;
  seed: SeedResult;
  readyMs: number;
  idle: Memory;
  afterRequests: Memory;
  requests: string[];
  storeSize: StoreSize;
  load: { before: number[]; after: number[] };
};

const FORM = 'application/x-www-form-urlencoded';

export async function runMemory(o: Omit<MemorySettings, 'stores'> & { store: StoreKind; log(msg: string): void }): Promise<MemoryRun> {
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-memory-'));
  const store = await startBenchStore(o.store, dataDir);
  const before = loadAverage();
  try {
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    const env = benchServerEnv(origin, store.env, { PORT: String(port), BCRYPT_COST: String(o.bcryptCost) });
    o.log(`${o.store}: the bench records through the CLI`);
    const { serviceSecret } = await createGatehouseRecords(env);
    const seeding = await openStore({ databaseUrl: store.env.DATABASE_URL!, redisUrl: store.env.REDIS_URL });
    let seed: SeedResult;
    try {
      seed = await seedSessionsAndTokens(seeding, { sessions: o.sessions, refreshTokens: o.refreshTokens, log: (msg) => o.log(`${o.store}: seeding ${msg}`) });
    } finally {
      await seeding.close();
    }
    o.log(`${o.store}: seeded in ${(seed.seconds.sessions + seed.seconds.grants + seed.seconds.refreshTokens).toFixed(1)} s; starting the server`);
    const server = await startServer({ name: 'gatehouse', script: codePath('src/main.ts'), env, origin, readyPath: '/health/ready', cpus: o.serverCpu || undefined, timeoutMs: 60_000 });
    try {
      const idle = await server.memory();
      o.log(`${o.store}: ready in ${server.readyMs} ms, idle RSS ${mb(idle.rss)}`);
      const requests = await fewRequests(origin, serviceSecret);
      const afterRequests = await server.memory();
      const storeSize = await store.size();
      o.log(`${o.store}: after ${requests.join(', ')}: RSS ${mb(afterRequests.rss)}; ${storeSizeText(storeSize)}`);
      return { store: o.store, seed, readyMs: server.readyMs, idle, afterRequests, requests, storeSize, load: { before, after: loadAverage() } };
    } finally {
      await server.stop();
    }
  } finally {
    await store.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Discovery, client_credentials, one sign-in, a refresh of its token and userinfo: each must answer 200. */
async function fewRequests(origin: string, serviceSecret: string): Promise<string[]> {
  const ok = async (what: string, url: string, init: Parameters<typeof request>[1] = {}) => {
    const res = await request(`${origin}${url}`, init);
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`${what} → ${res.statusCode} ${text.slice(0, 200)}`);
    return JSON.parse(text) as Record<string, unknown>;
  };
  await ok('discovery', '/.well-known/openid-configuration');
  const basic = `Basic ${Buffer.from(`${encodeURIComponent(SERVICE_CLIENT_ID)}:${encodeURIComponent(serviceSecret)}`).toString('base64')}`;
  await ok('client_credentials', '/token', {
    method: 'POST', headers: { 'content-type': FORM, authorization: basic },
    body: new URLSearchParams({ grant_type: 'client_credentials', resource: API.identifier, scope: API.scope }).toString(),
  });
  const tokens = await loginFlow(origin);
  const refreshed = await ok('refresh', '/token', {
    method: 'POST', headers: { 'content-type': FORM },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: String(tokens.refresh_token), client_id: SPA.clientId }).toString(),
  });
  await ok('userinfo', '/me', { headers: { authorization: `Bearer ${String(refreshed.access_token)}` } });
  return ['discovery', 'client_credentials', 'sign-in', 'refresh', 'userinfo'];
}

export function renderMemory(runs: MemoryRun[]): string {
  if (runs.length === 0) return '';
  return [
    '### Memory with sessions and refresh tokens stored (issue 21 item 4)',
    '',
    'Seeded through the adapter contract before the server starts (a Session and a Grant per person, the refresh tokens spread over the grants, 14-day lifetimes; with Redis, sessions in Redis and grants and refresh tokens in PostgreSQL, as the split store keeps them). RSS and heap after a full GC; target: idle RSS < 100 MB.',
    '',
    '| store | sessions | refresh tokens | seeded in | ready in | idle RSS | idle heap | RSS after requests | store |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---|',
    ...runs.map((r) => {
      const seeded = r.seed.seconds.sessions + r.seed.seconds.grants + r.seed.seconds.refreshTokens;
      const target = r.idle.rss < 100 * 1024 * 1024 ? '' : ' **(over 100 MB)**';
      return `| ${r.store} | ${r.seed.sessions.toLocaleString('en-US')} | ${r.seed.refreshTokens.toLocaleString('en-US')} | ${seeded.toFixed(1)} s (${Math.round((r.seed.sessions * 2 + r.seed.refreshTokens) / seeded).toLocaleString('en-US')} records/s) | ${r.readyMs} ms | ${mb(r.idle.rss)}${target} | ${mb(r.idle.heapUsed)} | ${mb(r.afterRequests.rss)} | ${storeSizeText(r.storeSize)} |`;
    }),
    '',
    ...runs.map((r) => `- ${r.store}: requests after idle: ${r.requests.join(', ')} (all 200); load average before ${r.load.before.join(' / ')}, after ${r.load.after.join(' / ')}`),
  ].join('\n');
}

export async function runMemoryBench(env: NodeJS.ProcessEnv = process.env, log = (msg: string) => process.stderr.write(`[bench memory] ${msg}\n`)): Promise<{ runs: MemoryRun[]; markdown: string }> {
  const { stores, ...s } = memorySettings(env);
  const runs: MemoryRun[] = [];
  for (const store of stores) runs.push(await runMemory({ ...s, store, log }));
  return { runs, markdown: renderMemory(runs) };
}

runWhenMain(import.meta.url, 'memory', () => runMemoryBench());
