/**
 * `npm run bench`: Gatehouse against a bare oidc-provider, in the same run, on this machine.
 *
 * Both servers run as separate processes pinned to one core (BENCH_SERVER_CPU, default 1); the load
 * generator runs on the other (BENCH_CLIENT_CPU, default 0): this process (the Node/undici generator,
 * load.ts) pins itself there, and so does wrk (wrk.ts), the maximum-rate generator for the scenarios that
 * are one fixed request. For each scenario the two servers are measured back to back (Gatehouse, then
 * bare) by the same generator, so drifting machine load hits both alike: warm-up, a closed-loop pass for
 * the maximum rate, then a paced pass at half that rate for latency (always the Node generator: wrk 4 has
 * no constant-rate mode, and at half load the Node generator is not saturated).
 * Prints markdown and writes bench/results/<timestamp>.json. Not part of the tests.
 *
 * First it times `npm start` on the built tree, spawn to the first discovery answer (bench/npm-start.ts).
 *
 * `--quick` (`npm run bench -- --quick`, bench/settings.ts): the regression check in under three minutes:
 * every endpoint scenario once for both servers and the same tables, with BENCH_SECONDS=2,
 * BENCH_WARMUP_SECONDS=1, BENCH_BCRYPT_COST=4 and no user_list, tenants or webhooks study (BENCH_ONLY can still
 * select them). Variables set in the environment win over the preset.
 *
 * Settings (environment; defaults without --quick):
 *   BENCH_SECONDS=5            length of each measured pass
 *   BENCH_WARMUP_SECONDS=2     closed-loop warm-up before each scenario
 *   BENCH_CONNECTIONS=32       concurrent connections (closed loop), and refresh chains
 *   BENCH_LOGIN_SECONDS=2×BENCH_SECONDS, BENCH_LOGIN_CONCURRENCY=4   the login-flow pass
 *   BENCH_BCRYPT_COST=12       BCRYPT_COST for Gatehouse, the bare provider and the hash-only loop
 *   BENCH_ONLY=a,b             only these scenarios (ids in scenarios.ts); prerequisites are harvested anyway
 *   BENCH_TARGETS=gatehouse,bare
 *   BENCH_PROFILE=1            run both servers with --cpu-prof (gatehouse-N.cpuprofile and bare.cpuprofile in bench/results/profile-<stamp>/); see profile-summary.ts
 *   BENCH_STORE=sqlite|postgres-redis   Gatehouse's store; postgres-redis starts a throwaway PostgreSQL and
 *                              redis-server (the test helpers': fsync off, unpinned) for the run
 *   BENCH_REPLICAS=1           Gatehouse processes on one store, each on its own port, behind the load
 *                              generator's balanced pool (one issuer); login flows go to the first
 *   BENCH_WORKERS=1            Gatehouse's WORKERS setting (a Node cluster behind one port)
 *   BENCH_SERVER_CPU, BENCH_CLIENT_CPU   taskset CPU lists (defaults 1 and 0; `0,1` gives the server both)
 *   BENCH_GENERATOR=wrk|node   the maximum-rate generator for discovery, JWKS, client_credentials, userinfo
 *                              and introspection; default wrk when the binary is on PATH, else node (one
 *                              line says so); node for refresh, the login flows and every paced pass
 *
 * Last, after both servers have stopped, the `user_list` scenario (bench/user-list.ts: the management
 * API's user list at BENCH_USERS=100000 accounts, on each of BENCH_USER_LIST_STORES); BENCH_ONLY selects
 * it like any other id (`BENCH_ONLY=user_list` runs it alone). Then `tenants` (bench/tenants.ts: 10,000
 * tenants, BENCH_TENANTS, on each of BENCH_TENANT_STORES) and `webhooks`, selected the same way.
 * `soak` (bench/soak.ts) and `memory` (bench/memory.ts) run only when BENCH_ONLY names them.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Dispatcher } from 'undici';
import { closedLoop, paced, type LoadResult } from './load.js';
import { chooseGenerator, findWrk, wrkClosedLoop, type Generator } from './wrk.js';
import type { ServerProcess } from './server-process.js';
import { measureNpmStart } from './npm-start.js';
import { benchServerEnv } from './bench-data.js';
import { ROOT, codePath } from './code.js';
import { SCENARIOS, type Scenario, type Target } from './scenarios.js';
import { benchSettings, selects, selectsScenarios } from './settings.js';
import { prepare, startBare, startGatehouse, type Services } from './targets.js';
import { cpuShares, cpuSnapshot, loadAverage, loadSampler } from './machine-load.js';
import { render, type Pass, type RunReport, type ScenarioRun } from './report.js';
import { runTenantsBench } from './tenants.js';
import { runUserListBench } from './user-list.js';
import { runWebhooksBench } from './webhooks.js';
import { runSoakBench } from './soak.js';
import { runMemoryBench } from './memory.js';
import { freePort } from '../test/helpers/services/free-port.js';

const S = (() => {
  try {
    return benchSettings(process.argv.slice(2), process.env);
  } catch (err) {
    // a usage error: the message, not a stack
    process.stderr.write(`bench: ${(err as Error).message}\n`);
    process.exit(2);
  }
})();

const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);

const WRK = findWrk();
const GENERATOR = (() => {
  try {
    const chosen = chooseGenerator(S.generator, { replicas: S.replicas, wrk: WRK });
    if (chosen.note) log(chosen.note);
    return chosen.generator;
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\n`);
    process.exit(2);
  }
})();

async function main(): Promise<void> {
  // pin every thread of this process (the load generator) to its own core
  execFileSync('taskset', ['-a', '-cp', S.clientCpu, String(process.pid)], { stdio: 'ignore' });
  const startedAt = new Date();
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const resultsDir = join(ROOT, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-bench-'));
  // the generated wrk scripts, one per scenario and server
  const scriptDir = join(dataDir, 'wrk');
  mkdirSync(scriptDir);
  const profileDir = S.profile ? join(resultsDir, `profile-${stamp}`) : undefined;
  const servers: ServerProcess[] = [];
  const sampler = loadSampler(() => servers.map((s) => s.pid));
  const report: RunReport = {
    startedAt: startedAt.toISOString(),
    settings: { ...S, generator: GENERATOR, serverCpu: `cpu${S.serverCpu}`, clientCpu: `cpu${S.clientCpu}` },
    machine: { cpus: cpus().map((c) => c.model), node: process.version, commit: gitCommit() },
    processes: { gatehouse: {}, bare: {} },
    scenarios: [],
    load: { before: loadAverage(), after: [], min: 0, max: 0, mean: 0, busyOthers: [] },
  };
  const pools: Dispatcher[] = [];
  const services: Services = [];
  try {
    const targets: Target[] = [];
    if (!selectsScenarios(S)) S.targets = [];
    if (S.targets.includes('gatehouse')) {
      // the first-start figure, on its own store, before anything else loads the machine
      const port = await freePort();
      report.npmStart = await measureNpmStart({
        env: benchServerEnv(`http://127.0.0.1:${port}`, { DATABASE_URL: `sqlite:${join(dataDir, 'npm-start.db')}` }),
        port,
        cpus: S.serverCpu,
      });
      log(`npm start served discovery in ${report.npmStart.ms} ms${report.npmStart.compiled ? ' (it compiled first)' : ''}`);
      const { server, target } = await startGatehouse({ ...S, dataDir, profileDir, log }, services);
      servers.push(server);
      pools.push(target.pool);
      targets.push(target);
      report.processes.gatehouse = { readyMs: server.readyMs, idle: await server.memory() };
      log(`gatehouse ready in ${server.readyMs} ms`);
    }
    if (S.targets.includes('bare')) {
      const { server, target } = await startBare({ ...S, profileDir });
      servers.push(server);
      pools.push(target.pool);
      targets.push(target);
      report.processes.bare = { readyMs: server.readyMs, idle: await server.memory() };
      log(`bare provider ready in ${server.readyMs} ms`);
    }

    const wanted = SCENARIOS.filter((s) => selects(S, s.id));
    for (const scenario of wanted) {
      // measured right before the login flows, so both see the machine in the same state
      if (scenario.hashBound && !report.hashOnly) report.hashOnly = await hashOnlyRate();
      const run: ScenarioRun = { id: scenario.id, label: scenario.label, hashBound: !!scenario.hashBound, runs: {} };
      report.scenarios.push(run);
      for (const target of targets) {
        const server = servers[targets.indexOf(target)]!;
        const skipped = scenario.skip?.(target);
        if (skipped) {
          run.runs[target.name] = { skipped };
          continue;
        }
        await prepare(scenario, target, { chains: S.connections, loginConcurrency: S.loginConcurrency, log });
        run.runs[target.name] = await measure(scenario, target, server, scriptDir);
      }
    }

    for (const [i, server] of servers.entries()) report.processes[targets[i]!.name].afterLoad = await server.memory();
  } finally {
    await Promise.all(pools.map((p) => p.close()));
    await Promise.all(servers.map((s) => s.stop()));
    await Promise.all(services.map((s) => s.stop()));
    rmSync(dataDir, { recursive: true, force: true });
    const load = sampler.stop();
    report.load = { ...report.load, after: loadAverage(), min: load.min, max: load.max, mean: load.mean, busyOthers: load.busyOthers };
  }

  let markdown = selectsScenarios(S) ? render(report) : '';
  const append = (part: string) => {
    markdown = markdown ? `${markdown}\n\n${part}` : part;
  };
  if (selects(S, 'user_list')) {
    const users = await runUserListBench();
    report.userList = users.runs;
    append(users.markdown);
  }
  // issue 15 §5: 10,000 tenants (bench/tenants.ts)
  if (selects(S, 'tenants')) {
    const tenants = await runTenantsBench();
    report.tenants = tenants.runs;
    append(tenants.markdown);
  }
  // issue 16: the token endpoint with and without a webhook, delivery rate and latency (bench/webhooks.ts)
  if (selects(S, 'webhooks')) {
    const hooks = await runWebhooksBench();
    append(hooks.markdown);
  }
  // issue 21 item 4, only when BENCH_ONLY names them: 10,000 people for minutes (bench/soak.ts), and memory
  // with 100,000 sessions and 1,000,000 refresh tokens stored (bench/memory.ts)
  if (selects(S, 'soak')) {
    const soak = await runSoakBench();
    report.soak = soak.runs;
    append(soak.markdown);
  }
  if (selects(S, 'memory')) {
    const memory = await runMemoryBench();
    report.memory = memory.runs;
    append(memory.markdown);
  }
  const file = join(resultsDir, `${stamp}.json`);
  writeFileSync(file, `${JSON.stringify({ ...report, markdown }, null, 2)}\n`);
  process.stdout.write(`\n${markdown}\n\nResults: ${file}\n`);
}

async function measure(scenario: Scenario, t: Target, server: ServerProcess, scriptDir: string): Promise<{ max: Pass; half?: Pass }> {
  const op = scenario.op(t);
  const concurrency = scenario.hashBound ? S.loginConcurrency : scenario.id === 'refresh' ? Math.min(S.connections, t.refreshChains.size) : S.connections;
  const seconds = scenario.hashBound ? S.loginSeconds : S.seconds;
  // wrk where the scenario is one fixed request (and wrk is the run's choice), for the warm-up too
  const request = GENERATOR === 'wrk' && !scenario.hashBound ? scenario.fixed?.(t) : undefined;
  const generator: Generator = request ? 'wrk' : 'node';
  const closed = (secs: number, pass: string): Promise<LoadResult & { generatorCpuSeconds?: number }> => request
    ? wrkClosedLoop({ wrk: WRK!, origin: t.origin, request, connections: concurrency, seconds: secs, cpu: S.clientCpu, scriptDir, name: `${scenario.id}-${t.name}-${pass}` })
    : closedLoop(op, { concurrency, seconds: secs });
  log(`${scenario.id} @ ${t.name}: warm-up ${S.warmupSeconds}s (${generator})`);
  await closed(S.warmupSeconds, 'warmup');
  const max = await observe(server, generator, () => closed(seconds, 'max'));
  log(`${scenario.id} @ ${t.name}: ${max.result.rate.toFixed(1)}/s, p99 ${max.result.latencyMs.p99} ms, server CPU ${max.serverCpuPercent}%, ${generator} CPU ${max.clientCpuPercent}%${max.result.errors ? `, ${max.result.errors} errors: ${max.result.errorSamples[0]}` : ''}`);
  if (scenario.hashBound || max.result.ok === 0) return { max };
  const rate = Math.max(1, Math.round(max.result.rate / 2));
  // paced: the Node generator (wrk 4 has no constant-rate mode); at half load it is not saturated
  const half = await observe(server, 'node', () => paced(op, { rate, seconds: S.seconds }));
  log(`${scenario.id} @ ${t.name}: paced ${rate}/s, p99 ${half.result.latencyMs.p99} ms${half.result.errors ? `, ${half.result.errors} errors: ${half.result.errorSamples[0]}` : ''}`);
  return { max, half };
}

/**
 * One pass with the CPU each side used: the server's, and the generator's own: wrk's as it measured
 * itself (wrk.ts), or this process's when it is the generator.
 */
async function observe(server: ServerProcess, generator: Generator, pass: () => Promise<LoadResult & { generatorCpuSeconds?: number }>): Promise<Pass> {
  const cpu0 = server.cpuSeconds();
  const client0 = process.cpuUsage();
  const cores0 = cpuSnapshot();
  const { generatorCpuSeconds, ...result } = await pass();
  const client = process.cpuUsage(client0);
  const generatorSeconds = generatorCpuSeconds ?? (client.user + client.system) / 1e6;
  return {
    result,
    generator,
    serverCpuPercent: Math.round(((server.cpuSeconds() - cpu0) / result.seconds) * 100),
    clientCpuPercent: Math.round((generatorSeconds / result.seconds) * 100),
    cores: cpuShares(cores0, cpuSnapshot()),
  };
}

async function hashOnlyRate(): Promise<RunReport['hashOnly']> {
  log(`bcrypt.compare alone at cost ${S.bcryptCost}, ${S.loginConcurrency} in flight, on cpu${S.serverCpu}`);
  const out = execFileSync('taskset', ['-c', S.serverCpu, process.execPath, codePath('bench/hash-rate.ts'), String(S.bcryptCost), String(S.loginSeconds), String(S.loginConcurrency)], { encoding: 'utf8' });
  return JSON.parse(out) as RunReport['hashOnly'];
}

function gitCommit(): string | undefined {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
