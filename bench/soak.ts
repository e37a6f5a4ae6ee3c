/**
 * Issue 21 item 4: a soak of BENCH_SOAK_USERS (10,000) simulated people on one Gatehouse server, on each
 * of BENCH_SOAK_STORES (SQLite; PostgreSQL + Redis). Gatehouse runs as targets.ts starts it (records made
 * with its CLI, a child process pinned to BENCH_SERVER_CPU, production mode); the people are accounts
 * seeded straight through AccountStore.create (one bcrypt hash of the bench password, holding the bench
 * role), then:
 *
 * 1. **sign-in**: each person signs in once through the real pages (scenarios.ts loginFlow: code + PKCE,
 *    login page, bcrypt, consent, code exchange), the starts spread evenly over BENCH_SOAK_RAMP_SECONDS;
 * 2. **steady**: for BENCH_SOAK_SECONDS each person calls userinfo every ~BENCH_SOAK_USERINFO_SECONDS (10)
 *    and refreshes every ~BENCH_SOAK_REFRESH_SECONDS (60), each interval drawn from ±20 % of it and the
 *    first one from a random phase, so the load is even. A refresh rotates the token: each is sent once,
 *    a person's refreshes one after another (a replay would revoke the grant, RFC 9700 §4.14.2); the
 *    access token for userinfo is the latest one the person holds.
 *
 * Every request starts at its scheduled time whatever the server does, and its latency counts from that
 * time (no coordinated omission): a stalled server, a full connection pool or a late timer in this
 * process all show as latency. The people share BENCH_SOAK_CONNECTIONS (256) keep-alive connections, as
 * browsers behind one forward proxy (or a NAT'd office) would: a request waits for a free one.
 *
 * Reported per step: count, rate, p50/p95/p99/max and errors (with samples; a soak must have none); the
 * server's RSS after a full GC (probe.ts) at start, after the sign-ins and at the end; the server's and
 * this process's CPU per phase; how late this process's timers fired; the store's size at the end.
 *
 * Run by `npm run bench` only when named (`BENCH_ONLY=soak`), or on its own, built:
 * `node dist/bench/soak.js`. Settings: see soakSettings below and bench/README.md.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Pool } from 'undici';
import { Recorder, type LatencySummary } from './load.js';
import { startServer, type ServerProcess } from './server-process.js';
import { createGatehouseRecords } from './setup-data.js';
import { SPA, USER, benchServerEnv } from './bench-data.js';
import { codePath, runWhenMain } from './code.js';
import { loginFlow } from './scenarios.js';
import { loadAverage } from './machine-load.js';
import { mb, startBenchStore, storeKinds, storeSizeText, type StoreKind, type StoreSize } from './bench-store.js';
import { openStore } from '../adapters/index.js';
import { createPasswordHasher } from '../src/accounts/passwords.js';
import { freePort } from '../test/helpers/services/free-port.js';

export type SoakSettings = {
  users: number;
  rampSeconds: number;
  seconds: number;
  connections: number;
  userinfoSeconds: number;
  refreshSeconds: number;
  bcryptCost: number;
  stores: StoreKind[];
  /** taskset CPU lists; '' does not pin (the tests) */
  serverCpu: string;
  clientCpu: string;
  workers: number;
};

export function soakSettings(env: NodeJS.ProcessEnv = process.env): SoakSettings {
  const num = (name: string, fallback: number, integer = true) => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const v = Number(raw);
    if (!(v > 0) || (integer && !Number.isInteger(v))) throw new Error(`${name}=${raw}: expected a positive ${integer ? 'integer' : 'number'}`);
    return v;
  };
  return {
    users: num('BENCH_SOAK_USERS', 10_000),
    // about half the sign-in rate one core gave at cost 4 (~60 flows/s): the ramp measures sign-ins, not a queue
    rampSeconds: num('BENCH_SOAK_RAMP_SECONDS', 300, false),
    seconds: num('BENCH_SOAK_SECONDS', 300, false),
    connections: num('BENCH_SOAK_CONNECTIONS', 256),
    userinfoSeconds: num('BENCH_SOAK_USERINFO_SECONDS', 10, false),
    refreshSeconds: num('BENCH_SOAK_REFRESH_SECONDS', 60, false),
    // 4, not the production 12: 10,000 sign-ins at cost 12 are some 40 CPU-minutes of bcrypt alone, and
    // the soak is about what stays behind (sessions, grants, tokens), not the hash (login_flow measures that)
    bcryptCost: num('BENCH_BCRYPT_COST', 4),
    stores: storeKinds('BENCH_SOAK_STORES', env.BENCH_SOAK_STORES, 'sqlite,postgres-redis'),
    serverCpu: env.BENCH_SERVER_CPU ?? '1',
    clientCpu: env.BENCH_CLIENT_CPU ?? '0',
    workers: num('BENCH_WORKERS', 1),
  };
}

type StepId = 'sign-in' | 'userinfo' | 'refresh';
export type SoakStep = { ok: number; errors: number; errorSamples: string[]; rate: number; latencyMs: LatencySummary };
type Memory = Awaited<ReturnType<ServerProcess['memory']>>;
export type SoakRun = {
  store: StoreKind;
  settings: Omit<SoakSettings, 'stores'>;
  steps: Record<StepId, SoakStep>;
  /** people whose sign-in or a refresh failed: they stopped refreshing */
  broken: number;
  memory: { start: Memory; signedIn: Memory; end: Memory };
  serverCpuPercent: { signIns: number; steady: number };
  generatorCpuPercent: { signIns: number; steady: number };
  /** how late this process's timers fired (ms), per phase: large values mean the generator, not the server, was behind */
  timerLagMs: { signIns: LatencySummary; steady: LatencySummary };
  seedSeconds: number;
  storeSize: StoreSize;
  load: { before: number[]; after: number[] };
};

type Person = { email: string; refreshToken: string; accessToken: string; broken: boolean; refreshing: Promise<void> };

const FORM = 'application/x-www-form-urlencoded';

/**
 * The soak's people: accounts with one shared hash of the bench password (Gatehouse's own hasher, at the
 * server's cost, so no sign-in rehashes), holding the bench role (setup-data.ts).
 */
async function seedPeople(databaseUrl: string, n: number, cost: number): Promise<string[]> {
  const passwordHash = await createPasswordHasher(cost).hash(USER.password);
  const store = await openStore({ databaseUrl });
  const emails = Array.from({ length: n }, (_, i) => `soak-${i}@bench.example`);
  try {
    for (let from = 0; from < n; from += 1000) {
      // one transaction per thousand (SQLite and PostgreSQL units)
      await store.atomically(async () => {
        const now = Date.now();
        for (const email of emails.slice(from, from + 1000)) {
          await store.accounts.create({
            id: randomUUID(), email, emailVerified: true, name: email, passwordHash, roles: ['bench-reader'],
            createdAt: now, updatedAt: now, disabledAt: null, lastLoginAt: null,
          });
        }
      });
    }
  } finally {
    await store.close();
  }
  return emails;
}

const jittered = (seconds: number) => seconds * 1000 * (0.8 + 0.4 * Math.random());

export async function runSoak(o: Omit<SoakSettings, 'stores'> & { store: StoreKind; log(msg: string): void }): Promise<SoakRun> {
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-soak-'));
  const store = await startBenchStore(o.store, dataDir);
  const before = loadAverage();
  try {
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    const env = benchServerEnv(origin, store.env, { PORT: String(port), BCRYPT_COST: String(o.bcryptCost), WORKERS: String(o.workers) });
    o.log(`${o.store}: the bench records through the CLI, then ${o.users} people through AccountStore.create`);
    await createGatehouseRecords(env);
    const seedStarted = performance.now();
    const emails = await seedPeople(store.env.DATABASE_URL!, o.users, o.bcryptCost);
    const seedSeconds = (performance.now() - seedStarted) / 1000;
    const server = await startServer({ name: 'gatehouse', script: codePath('src/main.ts'), env, origin, readyPath: '/health/ready', cpus: o.serverCpu || undefined });
    const pool = new Pool(origin, { connections: o.connections, pipelining: 1 });
    try {
      const start = await server.memory();
      let lag = new Recorder();
      const at = (time: number, fn: () => void) => {
        setTimeout(() => {
          lag.ok(Math.max(0, performance.now() - time));
          fn();
        }, Math.max(0, time - performance.now()));
      };
      const phase = async (work: () => Promise<void>) => {
        const cpu0 = server.cpuSeconds();
        const own0 = process.cpuUsage();
        const t0 = performance.now();
        await work();
        const seconds = (performance.now() - t0) / 1000;
        const own = process.cpuUsage(own0);
        return { seconds, server: Math.round(((server.cpuSeconds() - cpu0) / seconds) * 100), generator: Math.round(((own.user + own.system) / 1e6 / seconds) * 100) };
      };

      // 1. sign-ins, evenly spread over the ramp
      o.log(`${o.store}: ${o.users} sign-ins over ${o.rampSeconds} s`);
      const signIns = new Recorder();
      const people: Person[] = [];
      const ramp = await phase(async () => {
        const t0 = performance.now() + 50;
        const every = (o.rampSeconds * 1000) / o.users;
        await Promise.all(emails.map((email, i) => new Promise<void>((resolve) => {
          const scheduled = t0 + i * every;
          at(scheduled, () => {
            loginFlow(origin, { user: { email, password: USER.password }, dispatcher: pool, exchangeForApi: false }).then(
              (tokens) => {
                signIns.ok(performance.now() - scheduled);
                people.push({ email, refreshToken: String(tokens.refresh_token), accessToken: String(tokens.access_token), broken: false, refreshing: Promise.resolve() });
              },
              (err: unknown) => signIns.fail(err),
            ).finally(resolve);
          });
        })));
      });
      o.log(`${o.store}: sign-ins p50 ${signIns.summary().p50} ms, p99 ${signIns.summary().p99} ms, ${signIns.errors} errors${signIns.errors ? `: ${signIns.errorSamples[0]}` : ''}`);
      const signInLag = lag.summary();
      lag = new Recorder();
      const signedIn = await server.memory();

      // 2. steady: userinfo and refresh per person, each on its own jittered schedule
      o.log(`${o.store}: ${people.length} people, userinfo every ~${o.userinfoSeconds} s and refresh every ~${o.refreshSeconds} s, for ${o.seconds} s`);
      const userinfo = new Recorder();
      const refresh = new Recorder();
      const inFlight = new Set<Promise<void>>();
      const track = (p: Promise<void>) => {
        inFlight.add(p);
        void p.finally(() => inFlight.delete(p));
      };
      const callUserinfo = async (p: Person, scheduled: number) => {
        try {
          const res = await pool.request({ method: 'GET', path: '/me', headers: { authorization: `Bearer ${p.accessToken}` } });
          const text = await res.body.text();
          if (res.statusCode !== 200) throw new Error(`userinfo → ${res.statusCode} ${text.slice(0, 200)}`);
          userinfo.ok(performance.now() - scheduled);
        } catch (err) {
          userinfo.fail(err);
        }
      };
      const callRefresh = async (p: Person, scheduled: number) => {
        if (p.broken) return;
        try {
          const body = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: p.refreshToken, client_id: SPA.clientId }).toString();
          const res = await pool.request({ method: 'POST', path: '/token', headers: { 'content-type': FORM }, body });
          const text = await res.body.text();
          if (res.statusCode !== 200) throw new Error(`refresh → ${res.statusCode} ${text.slice(0, 200)}`);
          const json = JSON.parse(text) as { refresh_token?: string; access_token?: string };
          if (!json.refresh_token || !json.access_token) throw new Error(`refresh: no tokens in ${text.slice(0, 200)}`);
          p.refreshToken = json.refresh_token;
          p.accessToken = json.access_token;
          refresh.ok(performance.now() - scheduled);
        } catch (err) {
          // the token may have been consumed: this person's chain ends here
          p.broken = true;
          refresh.fail(err);
        }
      };
      const steady = await phase(async () => {
        const t0 = performance.now() + 50;
        const end = t0 + o.seconds * 1000;
        let pending = 0;
        let done!: () => void;
        const finished = new Promise<void>((resolve) => (done = resolve));
        const every = (first: number, seconds: number, fire: (scheduled: number) => void) => {
          pending++;
          const tick = (scheduled: number) => {
            if (scheduled >= end) {
              if (--pending === 0) done();
              return;
            }
            at(scheduled, () => {
              fire(scheduled);
              tick(scheduled + jittered(seconds));
            });
          };
          tick(first);
        };
        for (const p of people) {
          every(t0 + Math.random() * o.userinfoSeconds * 1000, o.userinfoSeconds, (scheduled) => track(callUserinfo(p, scheduled)));
          every(t0 + Math.random() * o.refreshSeconds * 1000, o.refreshSeconds, (scheduled) => {
            // one refresh at a time per person: the next waits for the last (its latency counts from its own schedule)
            p.refreshing = p.refreshing.then(() => callRefresh(p, scheduled));
            track(p.refreshing);
          });
        }
        if (pending === 0) done();
        await finished;
        await Promise.all(inFlight);
      });
      const end = await server.memory();
      const storeSize = await store.size();
      const step = (r: Recorder, seconds: number): SoakStep => ({ ok: r.count, errors: r.errors, errorSamples: r.errorSamples, rate: r.count / seconds, latencyMs: r.summary() });
      const run: SoakRun = {
        store: o.store,
        settings: { users: o.users, rampSeconds: o.rampSeconds, seconds: o.seconds, connections: o.connections, userinfoSeconds: o.userinfoSeconds, refreshSeconds: o.refreshSeconds, bcryptCost: o.bcryptCost, serverCpu: o.serverCpu, clientCpu: o.clientCpu, workers: o.workers },
        steps: { 'sign-in': step(signIns, ramp.seconds), userinfo: step(userinfo, steady.seconds), refresh: step(refresh, steady.seconds) },
        broken: o.users - people.length + people.filter((p) => p.broken).length,
        memory: { start, signedIn, end },
        serverCpuPercent: { signIns: ramp.server, steady: steady.server },
        generatorCpuPercent: { signIns: ramp.generator, steady: steady.generator },
        timerLagMs: { signIns: signInLag, steady: lag.summary() },
        seedSeconds,
        storeSize,
        load: { before, after: loadAverage() },
      };
      o.log(`${o.store}: userinfo ${run.steps.userinfo.ok} (p99 ${run.steps.userinfo.latencyMs.p99} ms, ${userinfo.errors} errors), refresh ${run.steps.refresh.ok} (p99 ${run.steps.refresh.latencyMs.p99} ms, ${refresh.errors} errors); RSS ${mb(start.rss)} → ${mb(signedIn.rss)} → ${mb(end.rss)}`);
      return run;
    } finally {
      await pool.close();
      await server.stop();
    }
  } finally {
    await store.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export function renderSoak(runs: SoakRun[]): string {
  if (runs.length === 0) return '';
  const s = runs[0]!.settings;
  const lines = [
    `### Soak (issue 21 item 4): ${s.users.toLocaleString('en-US')} people`,
    '',
    `Each signs in once (code + PKCE through the pages, bcrypt cost ${s.bcryptCost}), the sign-ins spread over ${s.rampSeconds} s; then for ${s.seconds} s each calls userinfo every ~${s.userinfoSeconds} s and refreshes (rotating) every ~${s.refreshSeconds} s (±20 %), over ${s.connections} shared connections (people behind one proxy). Latency from each request's scheduled time; server pinned to cpu ${s.serverCpu || '(not pinned)'}${s.workers > 1 ? `, WORKERS=${s.workers}` : ''}.`,
    '',
    '| store | step | count | per s | p50 ms | p95 ms | p99 ms | max ms | errors |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of runs) {
    for (const [id, st] of Object.entries(r.steps)) {
      lines.push(`| ${r.store} | ${id} | ${st.ok.toLocaleString('en-US')} | ${st.rate.toFixed(1)} | ${st.latencyMs.p50} | ${st.latencyMs.p95} | ${st.latencyMs.p99} | ${st.latencyMs.max} | ${st.errors ? `**${st.errors}**` : 0} |`);
    }
  }
  lines.push(
    '',
    '| store | RSS start | after sign-ins | end | server CPU sign-ins / steady | generator CPU sign-ins / steady | generator timer lag p99 sign-ins / steady | store at the end |',
    '|---|---:|---:|---:|---:|---:|---:|---|',
    ...runs.map((r) => `| ${r.store} | ${mb(r.memory.start.rss)} | ${mb(r.memory.signedIn.rss)} | ${mb(r.memory.end.rss)} | ${r.serverCpuPercent.signIns} % / ${r.serverCpuPercent.steady} % | ${r.generatorCpuPercent.signIns} % / ${r.generatorCpuPercent.steady} % | ${r.timerLagMs.signIns.p99} / ${r.timerLagMs.steady.p99} ms | ${storeSizeText(r.storeSize)} |`),
    '',
    ...runs.map((r) => `- ${r.store}: ${r.settings.users} accounts seeded in ${r.seedSeconds.toFixed(1)} s; ${r.broken} people lost their token chain; load average before ${r.load.before.join(' / ')}, after ${r.load.after.join(' / ')}`),
  );
  const samples = runs.flatMap((r) => Object.entries(r.steps).flatMap(([id, st]) => st.errorSamples.map((e) => `- ${r.store} ${id}: \`${e.replaceAll('`', "'")}\``)));
  if (samples.length) lines.push('', '**Errors** (a soak must have none), samples:', '', ...samples);
  return lines.join('\n');
}

export async function runSoakBench(env: NodeJS.ProcessEnv = process.env, log = (msg: string) => process.stderr.write(`[bench soak] ${msg}\n`)): Promise<{ runs: SoakRun[]; markdown: string }> {
  const { stores, ...s } = soakSettings(env);
  // the load generator on its own core, as run.ts does (harmless when run.ts already did)
  if (s.clientCpu) execFileSync('taskset', ['-a', '-cp', s.clientCpu, String(process.pid)], { stdio: 'ignore' });
  const runs: SoakRun[] = [];
  for (const store of stores) runs.push(await runSoak({ ...s, store, log }));
  return { runs, markdown: renderSoak(runs) };
}

runWhenMain(import.meta.url, 'soak', () => runSoakBench());
