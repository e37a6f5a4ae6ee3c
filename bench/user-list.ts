/**
 * Issue 13 item 8: listing and searching users at 100,000 accounts. For each store (SQLite; PostgreSQL +
 * Redis), the accounts are seeded straight through the store (`AccountStore.create`, a fixed precomputed
 * bcrypt hash: no hashing), then a Gatehouse server is started on it and each query of
 * `GET /admin/v1/users?limit=50` is timed over HTTP with a management token (client_credentials for
 * `urn:gatehouse:admin`, scope `admin:users:read`): one request at a time (closed loop, concurrency 1),
 * so p50/p99 are the latency of one page, not queueing. Each query's plan is read too (SQLite
 * `EXPLAIN QUERY PLAN`, PostgreSQL `EXPLAIN`) from the very SQL the store runs (account-list.ts), and a
 * plan that scans the accounts table, or walks the page order checking a filter row by row, is flagged.
 *
 * Run by `npm run bench` (scenario id `user_list`, also `BENCH_ONLY=user_list`), or on its own:
 * `node dist/bench/user-list.js`. Settings: BENCH_USERS (100000), BENCH_USER_LIST_SECONDS (3),
 * BENCH_USER_LIST_STORES (sqlite,postgres-redis), BENCH_SERVER_CPU (1).
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runWhenMain } from './code.js';
import { promisify } from 'node:util';
import { Pool, request } from 'undici';
import { closedLoop, type LatencySummary } from './load.js';
import { startServer } from './server-process.js';
import { benchServerEnv } from './bench-data.js';
import { loadAverage } from './machine-load.js';
import { openStore } from '../adapters/index.js';
import { accountPageSql } from '../adapters/account-list.js';
import { emailKey } from '../adapters/record-schema.js';
import type { AccountListQuery } from '../adapters/contract.js';
import { freePort } from '../test/helpers/services/free-port.js';
import { startPostgres } from '../test/helpers/services/postgres-server.js';
import { startRedis } from '../test/helpers/services/redis-server.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'dist', 'src', 'cli.js');
const run = promisify(execFile);

/** bcrypt (cost 4) of a throwaway string, computed once and pasted here: the seeded accounts never sign in. */
const FIXED_HASH = '$2b$04$J1Ve5PJNTQR/PGFk2ESU3e/SnJU4HiUR3m338IE0d2ZmTCZwwizGy';
const T0 = Date.UTC(2025, 0, 1);
const STEP_MS = 60_000;
// few disabled accounts and few holders of a role, spread over the whole list: a plan that walks the
// page order and filters reads most of the table to fill a page
const DISABLED_EVERY = 1000; // 0.1 %
const ROLE_EVERY = 1000; // 0.1 % hold the role 'support'

export type StoreKind = 'sqlite' | 'postgres-redis';
export type UserListQueryRun = { id: string; path: string; ok: number; errors: number; errorSamples: string[]; rate: number; latencyMs: LatencySummary; items: number; plan: string; scans: boolean; walks: boolean };
export type UserListRun = { store: StoreKind; accounts: number; seedSeconds: number; queries: UserListQueryRun[]; load: { before: number[]; after: number[] } };

type Query = { id: string; params: Record<string, string>; store: Omit<AccountListQuery, 'limit' | 'cursor'>; deep?: boolean };

function queries(n: number): Query[] {
  const mid = new Date(T0 + Math.floor(n / 2) * STEP_MS).toISOString();
  return [
    { id: 'first page', params: {}, store: {} },
    { id: 'deep page (cursor at the middle)', params: {}, store: {}, deep: true },
    // user-9999 and user-99990..99999: 11 rows, one early and ten at the very end of the page order
    { id: 'email_prefix (11 matches)', params: { email_prefix: 'user-9999' }, store: { emailPrefix: 'user-9999' } },
    { id: 'status=disabled', params: { status: 'disabled' }, store: { status: 'disabled' } },
    { id: 'role=support', params: { role: 'support' }, store: { role: 'support' } },
    { id: 'created_after (middle)', params: { created_after: mid }, store: { createdAfter: Date.parse(mid) } },
  ];
}

const log = (msg: string) => process.stderr.write(`[bench user_list] ${msg}\n`);

async function seed(databaseUrl: string, n: number): Promise<number> {
  const started = Date.now();
  const store = await openStore({ databaseUrl });
  try {
    let next = 0;
    // a few inserts in flight (PostgreSQL's pool); SQLite's driver is synchronous anyway
    await Promise.all(Array.from({ length: 8 }, async () => {
      for (let i = next++; i < n; i = next++) {
        const at = T0 + i * STEP_MS;
        await store.accounts.create({
          id: randomUUID(), email: `user-${i}@bench.example`, emailVerified: true, name: `User ${i}`, passwordHash: FIXED_HASH,
          roles: i % ROLE_EVERY === 0 ? ['support'] : [], createdAt: at, updatedAt: at, disabledAt: i % DISABLED_EVERY === 7 ? at : null, lastLoginAt: null,
        });
      }
    }));
  } finally {
    await store.close();
  }
  if (!databaseUrl.startsWith('sqlite:')) {
    // what autovacuum would do soon after a bulk load: the planner's statistics of the new rows
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    await client.query('ANALYZE accounts').finally(() => client.end());
  }
  return (Date.now() - started) / 1000;
}

/** The plan of the SQL the store runs for the query; `scans` when the accounts table is read in full. */
async function plan(kind: StoreKind, databaseUrl: string, q: AccountListQuery): Promise<{ plan: string; scans: boolean }> {
  if (kind === 'sqlite') {
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(new URL(databaseUrl).pathname, { readonly: true });
    try {
      const sql = accountPageSql('sqlite', q, emailKey);
      const rows = db.prepare(`EXPLAIN QUERY PLAN ${sql.text}`).all(...(sql.values as never[])) as { detail: string }[];
      const text = rows.map((r) => r.detail).join('; ');
      // "SCAN accounts" without an index is a full scan (SCAN ... USING INDEX walks an index in order)
      return { plan: text, scans: /SCAN accounts(?! USING)/.test(text) };
    } finally {
      db.close();
    }
  }
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const sql = accountPageSql('postgres', q, emailKey);
    const { rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql.text}`, sql.values);
    const text = rows.map((r) => r['QUERY PLAN'].trim()).join(' | ');
    return { plan: text, scans: /Seq Scan on accounts/.test(text) };
  } finally {
    await client.end();
  }
}

async function managementClient(env: Record<string, string>): Promise<{ id: string; secret: string }> {
  const { stdout } = await run(process.execPath, [CLI, 'clients', 'create', '--json', JSON.stringify({
    client_name: 'Bench management', grant_types: ['client_credentials'], response_types: [], redirect_uris: [], scope: 'admin:users:read',
  })], { env: { PATH: process.env.PATH ?? '', ...env } });
  const c = JSON.parse(stdout) as { client_id: string; client_secret: string };
  return { id: c.client_id, secret: c.client_secret };
}

async function token(origin: string, c: { id: string; secret: string }): Promise<string> {
  const res = await request(`${origin}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${encodeURIComponent(c.id)}:${encodeURIComponent(c.secret)}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'client_credentials', resource: 'urn:gatehouse:admin', scope: 'admin:users:read' }).toString(),
  });
  const json = (await res.body.json()) as { access_token?: string };
  if (res.statusCode !== 200 || !json.access_token) throw new Error(`management token: ${res.statusCode} ${JSON.stringify(json)}`);
  return json.access_token;
}

export async function runUserList(o: { store: StoreKind; accounts: number; seconds: number; serverCpu: string }): Promise<UserListRun> {
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-users-'));
  const services: { stop(): Promise<void> }[] = [];
  const before = loadAverage();
  try {
    let storeEnv: Record<string, string> = { DATABASE_URL: `sqlite:${join(dataDir, 'users.db')}` };
    if (o.store === 'postgres-redis') {
      const [postgres, redis] = await Promise.all([startPostgres(), startRedis()]);
      services.push(postgres, redis);
      storeEnv = { DATABASE_URL: postgres.url, REDIS_URL: redis.url };
    }
    log(`${o.store}: seeding ${o.accounts} accounts through AccountStore.create`);
    const seedSeconds = await seed(storeEnv.DATABASE_URL!, o.accounts);
    log(`${o.store}: seeded in ${seedSeconds.toFixed(1)} s`);
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    // the bench measures the list, not the per-client rate limit
    const env = benchServerEnv(origin, storeEnv, { PORT: String(port), ADMIN_REQUESTS_PER_MINUTE: '1000000' });
    const client = await managementClient(env);
    const server = await startServer({ name: 'gatehouse', script: join(ROOT, 'dist', 'src', 'main.js'), env, origin, readyPath: '/health/ready', cpus: o.serverCpu });
    const pool = new Pool(origin, { connections: 1, pipelining: 1 });
    try {
      const authorization = `Bearer ${await token(origin, client)}`;
      const get = async (path: string) => {
        const res = await pool.request({ method: 'GET', path, headers: { authorization } });
        const text = await res.body.text();
        if (res.statusCode !== 200) throw new Error(`${path}: ${res.statusCode} ${text.slice(0, 200)}`);
        return JSON.parse(text) as { items: unknown[]; next?: string };
      };
      // the cursor of the middle of the list: the first page's cursor format, for the row at n/2
      const first = await get('/admin/v1/users?limit=50');
      if (first.items.length !== Math.min(50, o.accounts)) throw new Error(`first page has ${first.items.length} items`);
      const deepCursor = await cursorAt(storeEnv.DATABASE_URL!, Math.floor(o.accounts / 2));
      const out: UserListQueryRun[] = [];
      for (const q of queries(o.accounts)) {
        const params = new URLSearchParams({ limit: '50', ...q.params, ...(q.deep ? { cursor: deepCursor } : {}) });
        const path = `/admin/v1/users?${params}`;
        const page = await get(path);
        const op = async () => {
          await get(path);
        };
        await closedLoop(op, { concurrency: 1, seconds: Math.min(1, o.seconds) });
        const r = await closedLoop(op, { concurrency: 1, seconds: o.seconds });
        const p = await plan(o.store, storeEnv.DATABASE_URL!, { limit: 50, cursor: q.deep ? deepCursor : null, ...q.store });
        // a filter checked row by row while walking the page order (not an index range): it reads as many
        // rows as it takes to find 50 matches, the whole table for a rare one
        const walks = Object.keys(q.store).length > 0 && (o.store === 'sqlite' ? /SCAN accounts USING INDEX accounts_created/ : /Index Scan using accounts_created on accounts[^|]*\| Filter:/).test(p.plan);
        log(`${o.store} ${q.id}: p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms, ${page.items.length} items${p.scans ? ', SCANS THE TABLE' : walks ? ', walks the page order with a filter' : ''}`);
        out.push({ id: q.id, path, ok: r.ok, errors: r.errors, errorSamples: r.errorSamples, rate: r.rate, latencyMs: r.latencyMs, items: page.items.length, ...p, walks });
      }
      return { store: o.store, accounts: o.accounts, seedSeconds, queries: out, load: { before, after: loadAverage() } };
    } finally {
      await pool.close();
      await server.stop();
    }
  } finally {
    await Promise.all(services.map((s) => s.stop()));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The list cursor after the account at position `i` (the order is created_at, id). */
async function cursorAt(databaseUrl: string, i: number): Promise<string> {
  const store = await openStore({ databaseUrl });
  try {
    const { encodeAccountCursor } = await import('../adapters/account-list.js');
    const at = T0 + i * STEP_MS;
    const account = await store.accounts.findByEmail(`user-${i}@bench.example`);
    if (!account) throw new Error(`no account user-${i}`);
    return encodeAccountCursor({ createdAt: at, id: account.id });
  } finally {
    await store.close();
  }
}

export function renderUserList(runs: UserListRun[]): string {
  const lines = [`Management API user list (\`GET /admin/v1/users?limit=50\`), one request at a time:`, ''];
  lines.push('| store | accounts | query | items | p50 ms | p95 ms | p99 ms | req/s | errors | plan |', '|---|---:|---|---:|---:|---:|---:|---:|---:|---|');
  for (const r of runs) {
    for (const q of r.queries) {
      lines.push(`| ${r.store} | ${r.accounts.toLocaleString('en-US')} | ${q.id} | ${q.items} | ${q.latencyMs.p50} | ${q.latencyMs.p95} | ${q.latencyMs.p99} | ${Math.round(q.rate)} | ${q.errors} | ${q.scans ? '**scans the table**: ' : q.walks ? '**walks the page order, filtering**: ' : ''}\`${q.plan.replaceAll('|', '/')}\` |`);
    }
  }
  lines.push('', ...runs.map((r) => `- ${r.store}: seeded in ${r.seedSeconds.toFixed(1)} s; load average before ${r.load.before.join(' / ')}, after ${r.load.after.join(' / ')}`));
  return lines.join('\n');
}

export const userListSettings = () => {
  const env = process.env;
  return {
    accounts: env.BENCH_USERS ? Number(env.BENCH_USERS) : 100_000,
    seconds: env.BENCH_USER_LIST_SECONDS ? Number(env.BENCH_USER_LIST_SECONDS) : 3,
    stores: (env.BENCH_USER_LIST_STORES ?? 'sqlite,postgres-redis').split(',') as StoreKind[],
    serverCpu: env.BENCH_SERVER_CPU ?? '1',
  };
};

export async function runUserListBench(): Promise<{ runs: UserListRun[]; markdown: string }> {
  const s = userListSettings();
  const runs: UserListRun[] = [];
  for (const store of s.stores) runs.push(await runUserList({ store, accounts: s.accounts, seconds: s.seconds, serverCpu: s.serverCpu }));
  return { runs, markdown: renderUserList(runs) };
}

runWhenMain(import.meta.url, 'user_list', () => runUserListBench());
