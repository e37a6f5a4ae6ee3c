/** The targets (for a 2-core machine) and the markdown report of one run. */
import type { LoadResult } from './load.js';
import type { CoreShares } from './machine-load.js';
import type { MemoryRun } from './memory.js';
import type { SoakRun } from './soak.js';
import type { TenantsRun } from './tenants.js';
import type { UserListRun } from './user-list.js';

export type Pass = {
  result: LoadResult;
  /** the server's CPU use over the pass, in % of one core (it is pinned to one) */
  serverCpuPercent: number;
  /** who sent the load: wrk (maximum-rate passes of fixed-request scenarios, bench/wrk.ts) or this Node process */
  generator: 'wrk' | 'node';
  /** the load generator's own CPU over the pass, in % of one core: the wrk child's, or this process's */
  clientCpuPercent: number;
  cores: Record<string, CoreShares>;
};

export type ScenarioRun = { id: string; label: string; hashBound: boolean; runs: Partial<Record<'gatehouse' | 'bare', { max?: Pass; half?: Pass; skipped?: string }>> };

export type RunReport = {
  startedAt: string;
  settings: Record<string, unknown>;
  machine: Record<string, unknown>;
  processes: Record<'gatehouse' | 'bare', { readyMs?: number; idle?: Memory; afterLoad?: Memory }>;
  /** `npm start` on a built tree, spawn to the first discovery answer (bench/npm-start.ts) */
  npmStart?: { ms: number; compiled: boolean };
  hashOnly?: { cost: number; concurrency: number; rate: number; compares: number; seconds: number; perCpuSecond: number };
  scenarios: ScenarioRun[];
  load: { before: number[]; after: number[]; min: number; max: number; mean: number; busyOthers: string[] };
  verdicts?: Verdict[];
  /** the management API's user list at scale (user-list.ts) */
  userList?: UserListRun[];
  /** 10,000 tenants: seeding, start-up, cold discovery, memory, client_credentials across tenants (tenants.ts) */
  tenants?: TenantsRun[];
  /** 10,000 people signing in, then userinfo and refresh on a schedule (soak.ts) */
  soak?: SoakRun[];
  /** RSS and store size with 100,000 sessions and 1,000,000 refresh tokens stored (memory.ts) */
  memory?: MemoryRun[];
};

type Memory = { rss: number; heapUsed: number; gc: boolean };
export type Verdict = { what: string; value: string; target: string; met: boolean | null };

const MIN_RATE: Record<string, number> = { discovery: 20_000, jwks: 20_000, client_credentials: 3_000, refresh: 1_000, introspection: 8_000, introspection_jwt: 8_000 };
const HALF_LOAD_P99_MS = 50;
const IDLE_RSS_MB = 100;
const READY_MS = 1000;
const NPM_START_MS = 2000;

const f0 = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? '—' : Math.round(n).toLocaleString('en-US'));
const f1 = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? '—' : n.toFixed(1));
const f2 = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? '—' : n.toFixed(2));
const mark = (met: boolean | null) => (met === null ? '—' : met ? 'yes' : '**no**');

export function render(r: RunReport): string {
  const verdicts: Verdict[] = [];
  const lines: string[] = [];
  const hashRate = r.hashOnly?.rate;

  const st = r.settings;
  if (st.quick) lines.push(`--quick: ${String(st.seconds)} s passes, bcrypt cost ${String(st.bcryptCost)}, no extra studies: a regression check; take the figures from a full run.`, '');
  lines.push(`Gatehouse on ${String(st.store ?? 'sqlite')}, ${String(st.replicas ?? 1)} replica(s) × WORKERS=${String(st.workers ?? 1)}; servers on ${String(st.serverCpu)}, load generator on ${String(st.clientCpu)}.`, '');
  lines.push(st.generator === 'wrk'
    ? 'Maximum rates: wrk for the scenarios that are one fixed request, the Node generator for refresh and the login flows; latency at half load: the Node generator (wrk has no constant-rate mode). The same generator for both servers of a row.'
    : 'Every pass by the Node generator (BENCH_GENERATOR=node, or no wrk on PATH).', '');
  lines.push('| endpoint | Gatehouse req/s | p50 ms | p95 ms | p99 ms | bare req/s | ratio | target | met? | Gatehouse per CPU-s | bare per CPU-s |');
  lines.push('|---|---:|---:|---:|---:|---:|---:|---|---|---:|---:|');
  for (const s of r.scenarios) {
    const gh = s.runs.gatehouse?.max;
    const bare = s.runs.bare?.max;
    const ratio = gh && bare ? gh.result.rate / bare.result.rate : undefined;
    let target = '—';
    let met: boolean | null = null;
    if (s.hashBound && hashRate) {
      const perCpu = gh && gh.serverCpuPercent > 0 && r.hashOnly ? gh.result.rate / (gh.serverCpuPercent / 100) / r.hashOnly.perCpuSecond : undefined;
      target = `≥ 90 % of hash-only ${f1(hashRate)}/s (${f0(gh ? (gh.result.rate / hashRate) * 100 : undefined)} %; per CPU-s ${f0(perCpu === undefined ? undefined : perCpu * 100)} %)`;
      met = gh ? gh.result.rate >= 0.9 * hashRate : null;
    } else if (MIN_RATE[s.id]) {
      target = `≥ ${f0(MIN_RATE[s.id])}/s${s.id === 'client_credentials' ? ' and ≥ 0.9× bare' : ''}`;
      met = gh ? gh.result.rate >= MIN_RATE[s.id]! && (s.id !== 'client_credentials' || (ratio ?? 0) >= 0.9) : null;
    }
    if (met !== null) verdicts.push({ what: `${s.label} throughput`, value: `${f0(gh?.result.rate)}/s`, target, met });
    const rate = (p: Pass | undefined) => (p ? (s.hashBound ? f1(p.result.rate) : f0(p.result.rate)) : s.runs.bare?.skipped ? 'n/a' : '—');
    const perCpu = (p: Pass | undefined) => (p && p.serverCpuPercent > 0 ? (s.hashBound ? f1 : f0)(p.result.rate / (p.serverCpuPercent / 100)) : '—');
    lines.push(`| ${s.label} | ${rate(gh)} | ${f1(gh?.result.latencyMs.p50)} | ${f1(gh?.result.latencyMs.p95)} | ${f1(gh?.result.latencyMs.p99)} | ${rate(bare)} | ${f2(ratio)} | ${target} | ${mark(met)} | ${perCpu(gh)} | ${perCpu(bare)} |`);
  }

  lines.push('', 'Per CPU-s: requests per second of CPU time the server process actually got (it shares its core with whatever else runs on this machine), i.e. the rate it would reach with the core to itself.');
  lines.push('', `Latency at a fixed rate of 50 % of each server's own maximum (paced, measured from the scheduled start):`, '');
  lines.push('| endpoint | Gatehouse rate | p50 ms | p95 ms | p99 ms | bare rate | bare p99 ms | target | met? |');
  lines.push('|---|---:|---:|---:|---:|---:|---:|---|---|');
  for (const s of r.scenarios.filter((x) => !x.hashBound)) {
    const gh = s.runs.gatehouse?.half;
    const bare = s.runs.bare?.half;
    const met = gh ? gh.result.latencyMs.p99 < HALF_LOAD_P99_MS && gh.result.errors === 0 : null;
    if (met !== null) verdicts.push({ what: `${s.label} p99 at half load`, value: `${f1(gh?.result.latencyMs.p99)} ms`, target: `< ${HALF_LOAD_P99_MS} ms`, met });
    lines.push(`| ${s.label} | ${f0(gh?.result.targetRate)}/s | ${f1(gh?.result.latencyMs.p50)} | ${f1(gh?.result.latencyMs.p95)} | ${f1(gh?.result.latencyMs.p99)} | ${f0(bare?.result.targetRate)}/s | ${f1(bare?.result.latencyMs.p99)} | < ${HALF_LOAD_P99_MS} ms | ${mark(met)} |`);
  }

  const mb = (b: number | undefined) => (b === undefined ? undefined : b / 1024 / 1024);
  const gp = r.processes.gatehouse;
  const bp = r.processes.bare;
  const rssMet = gp.idle ? mb(gp.idle.rss)! < IDLE_RSS_MB : null;
  const readyMet = gp.readyMs === undefined ? null : gp.readyMs < READY_MS;
  if (rssMet !== null) verdicts.push({ what: 'idle RSS', value: `${f1(mb(gp.idle?.rss))} MB`, target: `< ${IDLE_RSS_MB} MB`, met: rssMet });
  if (readyMet !== null) verdicts.push({ what: 'start to ready', value: `${gp.readyMs} ms`, target: `< ${READY_MS} ms`, met: readyMet });
  const npmStartMet = r.npmStart ? r.npmStart.ms < NPM_START_MS && !r.npmStart.compiled : null;
  if (r.npmStart) verdicts.push({ what: 'npm start on a built tree to discovery', value: `${r.npmStart.ms} ms`, target: `< ${NPM_START_MS} ms`, met: npmStartMet });
  lines.push('', '| process | Gatehouse | bare | target | met? |', '|---|---:|---:|---|---|');
  lines.push(`| idle RSS after start + GC (MB) | ${f1(mb(gp.idle?.rss))} | ${f1(mb(bp.idle?.rss))} | < ${IDLE_RSS_MB} MB | ${mark(rssMet)} |`);
  lines.push(`| heap used after start + GC (MB) | ${f1(mb(gp.idle?.heapUsed))} | ${f1(mb(bp.idle?.heapUsed))} | — | — |`);
  lines.push(`| RSS after the load + GC (MB) | ${f1(mb(gp.afterLoad?.rss))} | ${f1(mb(bp.afterLoad?.rss))} | — | — |`);
  lines.push(`| spawn to first ready answer (ms) | ${gp.readyMs ?? '—'} | ${bp.readyMs ?? '—'} | < ${READY_MS} ms | ${mark(readyMet)} |`);
  if (r.npmStart) lines.push(`| \`npm start\` on a built tree, spawn to the first discovery answer (ms)${r.npmStart.compiled ? '; it compiled: dist/ was stale' : ''} | ${r.npmStart.ms} | | < ${NPM_START_MS} ms | ${mark(npmStartMet)} |`);
  if (r.hashOnly) lines.push(`| bcrypt.compare alone, cost ${r.hashOnly.cost}, ${r.hashOnly.concurrency} in flight (/s; per CPU-s) | ${f1(r.hashOnly.rate)}; ${f1(r.hashOnly.perCpuSecond)} | | — | — |`);

  lines.push('', `Conditions (servers pinned to ${String(st.serverCpu)}, load generator to ${String(st.clientCpu)}):`, '');
  lines.push(`- load average (1 min) before ${r.load.before.join(' / ')}, after ${r.load.after.join(' / ')}; sampled during the run: min ${r.load.min}, mean ${r.load.mean}, max ${r.load.max}`);
  const maxPasses = r.scenarios.flatMap((s) => Object.values(s.runs).map((run) => run?.max)).filter((p): p is Pass => !!p);
  const starved = maxPasses.filter((p) => p.serverCpuPercent < 80).length;
  lines.push(`- in ${starved} of ${maxPasses.length} maximum-rate passes the server got less than 80 % of its core (other work took the rest): there its req/s understates, and its latencies overstate, what it does on a core of its own; the per CPU-s columns correct the former only roughly`);
  if (r.load.busyOthers.length) lines.push(`- other busy processes seen (lifetime %CPU): ${r.load.busyOthers.map((o) => `\`${o}\``).join('; ')}`);
  lines.push('', '| pass | server CPU % | generator | generator CPU % | server core busy / steal % | client core busy / steal % |', '|---|---:|---|---:|---|---|');
  for (const s of r.scenarios) {
    for (const [name, run] of Object.entries(s.runs)) {
      for (const [kind, pass] of Object.entries({ max: run?.max, half: run?.half })) {
        if (!pass) continue;
        const c = (core: string) => (pass.cores[core] ? `${pass.cores[core]!.busy} / ${pass.cores[core]!.steal}` : '—');
        const errs = pass.result.errors ? ` (${pass.result.errors} errors)` : '';
        lines.push(`| ${s.label}, ${name}, ${kind}${errs} | ${f0(pass.serverCpuPercent)} | ${pass.generator} | ${f0(pass.clientCpuPercent)} | ${c(String(r.settings.serverCpu))} | ${c(String(r.settings.clientCpu))} |`);
      }
    }
  }
  r.verdicts = verdicts;
  return lines.join('\n');
}
