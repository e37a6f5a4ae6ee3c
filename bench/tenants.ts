/**
 * Issue 15 §5: 10,000 tenants. On each store (BENCH_TENANT_STORES), one data set and a Gatehouse server
 * (a child pinned to BENCH_SERVER_CPU, production mode, TENANT_CACHE_SIZE = BENCH_TENANT_ACTIVE) on it:
 *
 * 1. seeding BENCH_TENANTS tenants straight through the store (tenant-seed.ts: signing keys from a small
 *    pool, shared between tenants: a benchmark shortcut), then creating BENCH_TENANT_CREATES tenants
 *    through `POST /admin/v1/tenants` on the running server (real key generation), one at a time;
 * 2. start-up, spawn to the first 200 from discovery, with 0 tenants stored and with all of them
 *    (BENCH_TENANT_STARTS starts each, on the same file): it must not grow with the tenants;
 * 3. the first discovery of BENCH_TENANT_COLD never-requested tenants, one request at a time (the tenant's
 *    app is built on that request; the cache is full, so each also evicts one), then the same warm;
 * 4. RSS and heap (full GC first) with 0 tenants active and with BENCH_TENANT_ACTIVE active (each asked
 *    for discovery once), per active tenant; and the CPU the server uses idle with them
 *    (BENCH_TENANT_IDLE_SECONDS);
 * 5. client_credentials (`POST /t/{id}/token`, client_secret_basic, closed loop, BENCH_CONNECTIONS) with a
 *    random one of BENCH_TENANT_ACTIVE tenants per request, against the same load on one tenant; then,
 *    with BENCH_TENANT_SMALL_CACHE (100; 0: skipped) as TENANT_CACHE_SIZE, the random load again: the
 *    cost of eviction and rebuilding.
 *
 * Run by `npm run bench` (scenario id `tenants`, also `BENCH_ONLY=tenants`), or on its own, built:
 * `node dist/bench/tenants.js`. Settings: BENCH_TENANTS (10000), BENCH_TENANT_CREATES (100),
 * BENCH_TENANT_COLD (300), BENCH_TENANT_ACTIVE (1000), BENCH_TENANT_SECONDS (5), BENCH_TENANT_STARTS (3),
 * BENCH_TENANT_KEY_POOL (16), BENCH_TENANT_SMALL_CACHE (100), BENCH_TENANT_IDLE_SECONDS (10),
 * BENCH_TENANT_STORES (sqlite; or sqlite,postgres-redis),
 * BENCH_CONNECTIONS (32), BENCH_SERVER_CPU (1).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Pool, request } from 'undici';
import { closedLoop, counted, type LatencySummary, type LoadResult } from './load.js';
import { startServer, type ServerProcess } from './server-process.js';
import { API, benchServerEnv } from './bench-data.js';
import { CHILD_NODE_ARGS, codePath, runWhenMain } from './code.js';
import { loadAverage } from './machine-load.js';
import { cipherOf, cliTenantClient, seedTenantClients, seedTenants, tenantId, type TenantClient } from './tenant-seed.js';
import { openStore } from '../adapters/index.js';
import { freePort } from '../test/helpers/services/free-port.js';
import { startPostgres } from '../test/helpers/services/postgres-server.js';
import { startRedis } from '../test/helpers/services/redis-server.js';

const DISCOVERY = '/.well-known/openid-configuration';
const MB = 1024 * 1024;
const FORM = 'application/x-www-form-urlencoded';
const run = promisify(execFile);

export type TenantStoreKind = 'sqlite' | 'postgres-redis';
export type TenantSettingsOfBench = {
  tenants: number; creates: number; cold: number; active: number; seconds: number; starts: number; keyPool: number;
  smallCache: number; idleSeconds: number; stores: TenantStoreKind[]; connections: number;
  /** taskset CPU list for the server; '' leaves it unpinned (the tests) */
  serverCpu: string;
};
type Memory = { rss: number; heapUsed: number };
export type Timing = { ok: number; errors: number; errorSamples: string[]; rate: number; seconds: number; latencyMs: LatencySummary };
export type TenantsRun = {
  store: TenantStoreKind;
  tenants: number;
  seed: { seconds: number; perSecond: number; keyPool: number; poolSeconds: number; clients: number; clientSeconds: number };
  apiCreates: Timing;
  /** first discovery of the tenants made through the API (their real keys) */
  apiCreatedFirstDiscovery: Timing;
  startMs: { empty: number[]; full: number[] };
  /** first discovery of the tenants then made active (the ones with a client), the cache filling */
  activation: Timing;
  cold: Timing;
  warm: Timing;
  memory: { idle: Memory; active: Memory; activeTenants: number; perTenantMb: { rss: number; heap: number } };
  /** CPU % of one core the server used idle (BENCH_TENANT_IDLE_SECONDS) with the active tenants cached */
  idleCpuPercent: number;
  clientCredentials: { random: Timing; one: Timing; smallCache?: Timing & { cacheSize: number } };
  load: { before: number[]; after: number[] };
};

const stderrLog = (msg: string) => process.stderr.write(`[bench tenants] ${msg}\n`);

const timing = (r: LoadResult): Timing => ({ ok: r.ok, errors: r.errors, errorSamples: r.errorSamples, rate: r.rate, seconds: r.seconds, latencyMs: r.latencyMs });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] ?? NaN;
const basic = (c: { clientId: string; clientSecret: string }) => `Basic ${Buffer.from(`${encodeURIComponent(c.clientId)}:${encodeURIComponent(c.clientSecret)}`).toString('base64')}`;

/** Runs `op(i)` for i = 0..n-1, one at a time, timed. */
const oneByOne = (n: number, op: (i: number) => Promise<void>) => {
  let i = 0;
  return counted(() => op(i++), { times: n, concurrency: 1 });
};

async function expectOk(res: Awaited<ReturnType<Pool['request']>>, what: string, status = 200): Promise<string> {
  const text = await res.body.text();
  if (res.statusCode !== status) throw new Error(`${what}: ${res.statusCode} ${text.slice(0, 200)}`);
  return text;
}

async function managementToken(origin: string, c: { clientId: string; clientSecret: string }): Promise<string> {
  const res = await request(`${origin}/token`, {
    method: 'POST',
    headers: { 'content-type': FORM, authorization: basic(c) },
    body: new URLSearchParams({ grant_type: 'client_credentials', resource: 'urn:gatehouse:admin', scope: 'admin:tenants:write' }).toString(),
  });
  const json = JSON.parse(await expectOk(res, 'management token')) as { access_token: string };
  return json.access_token;
}

export async function runTenants(o: Omit<TenantSettingsOfBench, 'stores'> & { store: TenantStoreKind; log?: (msg: string) => void }): Promise<TenantsRun> {
  const log = o.log ?? stderrLog;
  if (o.active > o.tenants || o.active + o.cold > o.tenants) throw new Error('BENCH_TENANT_ACTIVE + BENCH_TENANT_COLD must not exceed BENCH_TENANTS');
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-tenants-'));
  const services: { stop(): Promise<void> }[] = [];
  const servers: ServerProcess[] = [];
  const pools: Pool[] = [];
  const before = loadAverage();
  try {
    let storeEnv: Record<string, string> = { DATABASE_URL: `sqlite:${join(dataDir, 'tenants.db')}` };
    if (o.store === 'postgres-redis') {
      const [postgres, redis] = await Promise.all([startPostgres(), startRedis()]);
      services.push(postgres, redis);
      storeEnv = { DATABASE_URL: postgres.url, REDIS_URL: redis.url };
    }
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    const env = benchServerEnv(origin, storeEnv, {
      PORT: String(port),
      // the bench measures tenant creation, not the per-client rate limit
      ADMIN_REQUESTS_PER_MINUTE: '1000000',
      // every active tenant in memory (the default, 100, is sized for the chart's memory limit)
      TENANT_CACHE_SIZE: String(o.active),
    });
    const start = async (extra: Record<string, string> = {}) => {
      const server = await startServer({ name: 'gatehouse', script: codePath('src/main.ts'), env: { ...env, ...extra }, origin, readyPath: DISCOVERY, ...(o.serverCpu ? { cpus: o.serverCpu } : {}), timeoutMs: 60_000 });
      servers.push(server);
      return server;
    };
    const stop = async (server: ServerProcess) => {
      await server.stop();
      servers.splice(servers.indexOf(server), 1);
    };
    const startTimes = async () => {
      const times: number[] = [];
      for (let i = 0; i < o.starts; i++) {
        const server = await start();
        times.push(server.readyMs);
        await stop(server);
      }
      return times;
    };

    // the management client first: its CLI call also makes the default tenant's first key, so no start
    // below pays for one
    const admin = await cliAdminClient(env);
    // a first start makes the default tenant's system roles and management API; not counted
    await stop(await start());
    const empty = await startTimes();
    log(`${o.store}: start-up with 0 tenants: ${empty.join(', ')} ms`);

    const store = await openStore({ databaseUrl: storeEnv.DATABASE_URL!, ...(storeEnv.REDIS_URL ? { redisUrl: storeEnv.REDIS_URL } : {}) });
    const cipher = cipherOf(env);
    let seeded: Awaited<ReturnType<typeof seedTenants>>;
    let clients: TenantClient[];
    let clientSeconds: number;
    try {
      log(`${o.store}: seeding ${o.tenants} tenants through RootStore.tenants.create (keys from a pool of ${o.keyPool})`);
      seeded = await seedTenants(store, cipher, { n: o.tenants, poolSize: o.keyPool });
      log(`${o.store}: seeded in ${seeded.seconds.toFixed(1)} s (${Math.round(o.tenants / seeded.seconds)}/s; pool keys ${seeded.poolSeconds.toFixed(1)} s)`);
      const c0 = performance.now();
      const first = await cliTenantClient(env, tenantId(0));
      clients = [first, ...(await seedTenantClients(store, cipher, Array.from({ length: o.active - 1 }, (_, i) => tenantId(i + 1))))];
      clientSeconds = (performance.now() - c0) / 1000;
      log(`${o.store}: an API and a client in each of ${clients.length} tenants in ${clientSeconds.toFixed(1)} s`);
    } finally {
      await store.close();
    }

    const full = await startTimes();
    log(`${o.store}: start-up with ${o.tenants} tenants: ${full.join(', ')} ms`);

    let server = await start();
    let pool = new Pool(origin, { connections: o.connections, pipelining: 1 });
    pools.push(pool);
    // the tenant's own document, not an answer of the default app
    const discovery = async (id: string) => {
      const path = `/t/${id}${DISCOVERY}`;
      const { issuer } = JSON.parse(await expectOk(await pool.request({ method: 'GET', path }), path)) as { issuer?: string };
      if (issuer !== `${origin}/t/${id}`) throw new Error(`${path}: issuer ${issuer}`);
    };
    const token = (c: TenantClient) => async () => {
      const res = await pool.request({
        method: 'POST', path: `/t/${c.tenant}/token`, headers: { 'content-type': FORM, authorization: basic(c) },
        body: new URLSearchParams({ grant_type: 'client_credentials', resource: API.identifier, scope: API.scope }).toString(),
      });
      const json = JSON.parse(await expectOk(res, `token of ${c.tenant}`)) as { access_token?: string };
      if (!json.access_token) throw new Error(`token of ${c.tenant}: no access_token`);
    };
    const random = () => token(clients[Math.floor(Math.random() * clients.length)]!)();
    const loadPass = async (op: () => Promise<void>, what: string) => {
      await closedLoop(op, { concurrency: o.connections, seconds: Math.min(2, o.seconds) });
      const r = timing(await closedLoop(op, { concurrency: o.connections, seconds: o.seconds }));
      log(`${o.store}: ${what}: ${r.rate.toFixed(0)}/s, p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms${r.errors ? `, ${r.errors} errors: ${r.errorSamples[0]}` : ''}`);
      return r;
    };

    const idle = await server.memory();
    const activation = timing(await oneByOne(o.active, (i) => discovery(tenantId(i))));
    log(`${o.store}: ${o.active} tenants made active: first discovery p50 ${activation.latencyMs.p50} ms, p99 ${activation.latencyMs.p99} ms`);
    const active = await server.memory();
    const cpu0 = server.cpuSeconds();
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, o.idleSeconds * 1000));
    const idleCpuPercent = Math.round(((server.cpuSeconds() - cpu0) / ((performance.now() - t0) / 1000)) * 1000) / 10;
    const perTenantMb = { rss: (active.rss - idle.rss) / MB / o.active, heap: (active.heapUsed - idle.heapUsed) / MB / o.active };
    log(`${o.store}: RSS ${(idle.rss / MB).toFixed(0)} MB idle, ${(active.rss / MB).toFixed(0)} MB with ${o.active} active (${perTenantMb.rss.toFixed(2)} MB each); idle CPU ${idleCpuPercent}%`);

    const randomCc = await loadPass(random, `client_credentials over ${clients.length} tenants`);
    const oneCc = await loadPass(token(clients[0]!), 'client_credentials on one tenant');

    const coldIds = Array.from({ length: o.cold }, (_, i) => tenantId(o.active + i));
    const cold = timing(await oneByOne(o.cold, (i) => discovery(coldIds[i]!)));
    const warm = timing(await oneByOne(o.cold, (i) => discovery(coldIds[i]!)));
    log(`${o.store}: cold discovery p50 ${cold.latencyMs.p50} ms, p99 ${cold.latencyMs.p99} ms; warm p50 ${warm.latencyMs.p50} ms, p99 ${warm.latencyMs.p99} ms`);

    const authorization = `Bearer ${await managementToken(origin, admin)}`;
    const createdIds = Array.from({ length: o.creates }, (_, i) => `api-${i}`);
    const apiCreates = timing(await oneByOne(o.creates, async (i) => {
      const res = await pool.request({
        method: 'POST', path: '/admin/v1/tenants', headers: { authorization, 'content-type': 'application/json' },
        body: JSON.stringify({ id: createdIds[i], name: `API tenant ${i}` }),
      });
      await expectOk(res, `POST /admin/v1/tenants ${createdIds[i]}`, 201);
    }));
    const apiCreatedFirstDiscovery = timing(await oneByOne(o.creates, (i) => discovery(createdIds[i]!)));
    log(`${o.store}: ${o.creates} tenants by the API: ${apiCreates.rate.toFixed(1)}/s, p50 ${apiCreates.latencyMs.p50} ms, p99 ${apiCreates.latencyMs.p99} ms; their first discovery p50 ${apiCreatedFirstDiscovery.latencyMs.p50} ms`);

    let smallCache: TenantsRun['clientCredentials']['smallCache'];
    if (o.smallCache > 0) {
      pools.splice(pools.indexOf(pool), 1);
      await pool.close();
      await stop(server);
      server = await start({ TENANT_CACHE_SIZE: String(o.smallCache) });
      pool = new Pool(origin, { connections: o.connections, pipelining: 1 });
      pools.push(pool);
      smallCache = { ...(await loadPass(random, `client_credentials over ${clients.length} tenants, TENANT_CACHE_SIZE=${o.smallCache}`)), cacheSize: o.smallCache };
    }
    return {
      store: o.store, tenants: o.tenants,
      seed: { seconds: seeded.seconds, perSecond: o.tenants / seeded.seconds, keyPool: o.keyPool, poolSeconds: seeded.poolSeconds, clients: clients.length, clientSeconds },
      apiCreates, apiCreatedFirstDiscovery, startMs: { empty, full }, activation, cold, warm,
      memory: { idle: { rss: idle.rss, heapUsed: idle.heapUsed }, active: { rss: active.rss, heapUsed: active.heapUsed }, activeTenants: o.active, perTenantMb },
      idleCpuPercent,
      clientCredentials: { random: randomCc, one: oneCc, ...(smallCache ? { smallCache } : {}) },
      load: { before, after: loadAverage() },
    };
  } finally {
    // every server and service stops, whatever else failed
    await Promise.allSettled(pools.map((p) => p.close()));
    await Promise.allSettled(servers.map((s) => s.stop()));
    await Promise.allSettled(services.map((s) => s.stop()));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** A management client of the default tenant that may create tenants (the real CLI). */
async function cliAdminClient(env: Record<string, string>): Promise<{ clientId: string; clientSecret: string }> {
  const { stdout } = await run(process.execPath, [...CHILD_NODE_ARGS, codePath('src/cli.ts'), 'clients', 'create', '--json', JSON.stringify({
    client_name: 'Bench tenants admin', grant_types: ['client_credentials'], response_types: [], redirect_uris: [], scope: 'admin:tenants:write',
  })], { env: { PATH: process.env.PATH ?? '', ...env } });
  const c = JSON.parse(stdout) as { client_id: string; client_secret: string };
  return { clientId: c.client_id, clientSecret: c.client_secret };
}

const f0 = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '—');
const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '—');
const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '—');
const COLD_P99_MS = 100;

export function renderTenants(runs: TenantsRun[]): string {
  const lines = ['Tenants (issue 15 §5): a Gatehouse server on a store holding many tenants, one core.', ''];
  for (const r of runs) {
    const n = r.tenants.toLocaleString('en-US');
    const cc = r.clientCredentials;
    const row = (what: string, t: Timing, extra = '') => `| ${what} | ${f1(t.rate)} | ${f2(t.latencyMs.p50)} | ${f2(t.latencyMs.p95)} | ${f2(t.latencyMs.p99)} | ${f2(t.latencyMs.max)} | ${t.ok} | ${t.errors} | ${extra} |`;
    lines.push(`**${r.store}**, ${n} tenants:`, '');
    lines.push('| measure | per s | p50 ms | p95 ms | p99 ms | max ms | ok | errors | note |', '|---|---:|---:|---:|---:|---:|---:|---:|---|');
    lines.push(row('create through `POST /admin/v1/tenants` (real RSA key), one at a time', r.apiCreates));
    lines.push(row('first discovery of those API-created tenants', r.apiCreatedFirstDiscovery));
    lines.push(row(`first discovery while making ${r.memory.activeTenants} tenants active (cache filling)`, r.activation));
    const coldMet = r.cold.latencyMs.p99 < COLD_P99_MS;
    lines.push(row(`first discovery of ${r.cold.ok + r.cold.errors} cold tenants (cache full: each evicts one)`, r.cold, `target p99 < ${COLD_P99_MS} ms: ${coldMet ? 'met' : '**not met**'}`));
    lines.push(row('warm discovery of the same tenants', r.warm));
    lines.push(row(`client_credentials, a random one of ${r.seed.clients} tenants per request`, cc.random, `${f2(cc.random.rate / cc.one.rate)} × one tenant`));
    lines.push(row('client_credentials, one tenant', cc.one));
    if (cc.smallCache) lines.push(row(`client_credentials over ${r.seed.clients} tenants, TENANT_CACHE_SIZE=${cc.smallCache.cacheSize}`, cc.smallCache, `${f2(cc.smallCache.rate / cc.one.rate)} × one tenant`));
    const m = r.memory;
    lines.push('');
    lines.push(`- seed: ${n} tenants through \`RootStore.tenants.create\` + one signing key each in ${f1(r.seed.seconds)} s (${f0(r.seed.perSecond)} tenants/s). **Shortcut:** the seeded tenants' keys are copies of ${r.seed.keyPool} pool keys (made in ${f1(r.seed.poolSeconds)} s), so seeded tenants share key material; the API-created tenants have their own. The bench API and a client in ${r.seed.clients} tenants: ${f1(r.seed.clientSeconds)} s.`);
    lines.push(`- start-up (spawn → first discovery 200), ms: 0 tenants ${r.startMs.empty.join(', ')} (median ${f0(median(r.startMs.empty))}); ${n} tenants ${r.startMs.full.join(', ')} (median ${f0(median(r.startMs.full))}).`);
    lines.push(`- memory after a full GC: ${f0(m.idle.rss / MB)} MB RSS (${f0(m.idle.heapUsed / MB)} MB heap) with no tenant active; ${f0(m.active.rss / MB)} MB RSS (${f0(m.active.heapUsed / MB)} MB heap) with ${m.activeTenants} active: ${f2(m.perTenantMb.rss)} MB RSS (${f2(m.perTenantMb.heap)} MB heap) per active tenant. Idle CPU with them cached: ${f1(r.idleCpuPercent)} % of a core.`);
    lines.push(`- load average before ${r.load.before.join(' / ')}, after ${r.load.after.join(' / ')}`, '');
  }
  return lines.join('\n').trimEnd();
}

export function tenantsSettings(env: NodeJS.ProcessEnv = process.env): TenantSettingsOfBench {
  const num = (name: string, fallback: number, min = 1) => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const v = Number(raw);
    if (!Number.isInteger(v) || v < min) throw new Error(`${name}=${raw}: expected an integer of at least ${min}`);
    return v;
  };
  const stores = (env.BENCH_TENANT_STORES ?? 'sqlite').split(',');
  const strange = stores.filter((s) => s !== 'sqlite' && s !== 'postgres-redis');
  if (strange.length) throw new Error(`BENCH_TENANT_STORES: unknown ${strange.join(', ')}; expected sqlite, postgres-redis`);
  return {
    tenants: num('BENCH_TENANTS', 10_000), creates: num('BENCH_TENANT_CREATES', 100), cold: num('BENCH_TENANT_COLD', 300), active: num('BENCH_TENANT_ACTIVE', 1000),
    seconds: num('BENCH_TENANT_SECONDS', 5), starts: num('BENCH_TENANT_STARTS', 3), keyPool: num('BENCH_TENANT_KEY_POOL', 16),
    smallCache: num('BENCH_TENANT_SMALL_CACHE', 100, 0), idleSeconds: num('BENCH_TENANT_IDLE_SECONDS', 10), stores: stores as TenantStoreKind[], connections: num('BENCH_CONNECTIONS', 32), serverCpu: env.BENCH_SERVER_CPU ?? '1',
  };
}

export async function runTenantsBench(env: NodeJS.ProcessEnv = process.env): Promise<{ runs: TenantsRun[]; markdown: string }> {
  const { stores, ...s } = tenantsSettings(env);
  const runs: TenantsRun[] = [];
  for (const store of stores) runs.push(await runTenants({ ...s, store }));
  return { runs, markdown: renderTenants(runs) };
}

runWhenMain(import.meta.url, 'tenants', () => runTenantsBench());
