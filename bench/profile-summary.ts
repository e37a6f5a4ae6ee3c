/**
 * Where the time goes in a V8 CPU profile (`node --cpu-prof`, see BENCH_PROFILE in run.ts): the hottest
 * functions by self time, the heaviest by total (inclusive) time, and self time grouped by where the code
 * lives (a package in node_modules, a Gatehouse source file, Node's internals, or native/GC).
 *
 *   node dist/bench/profile-summary.js <file.cpuprofile> [top=25] [filter-substring]
 *
 * With a filter, only samples whose stack contains a frame matching it are counted (e.g. "introspection").
 */
import { readFileSync } from 'node:fs';

type CallFrame = { functionName: string; url: string; lineNumber: number };
type ProfileNode = { id: number; callFrame: CallFrame; children?: number[] };
type Profile = { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number };

const [file, topArg = '25', filter] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: profile-summary <file.cpuprofile> [top] [filter]\n');
  process.exit(2);
}
const top = Number(topArg);
// piped into head: stop quietly when the reader goes away
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;

const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const short = (url: string) => {
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm + 'node_modules/'.length);
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return url.slice(dist + '/dist/'.length);
  return url.replace(/^file:\/\//, '');
};
const fnKey = (f: CallFrame) => `${f.functionName || '(anonymous)'}  ${f.url ? `${short(f.url)}:${f.lineNumber + 1}` : '(native)'}`;
const area = (f: CallFrame) => {
  if (!f.url) return f.functionName.startsWith('(') ? f.functionName : '(native)';
  const nm = f.url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = f.url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (f.url.startsWith('node:')) {
    // node:internal/crypto/util → node crypto; node:_http_outgoing → node http
    const first = f.url.slice('node:'.length).replace(/^internal\//, '').split('/')[0]!.replace(/^_(http|stream)_.*$/, '$1');
    return `node ${first}`;
  }
  const dist = f.url.indexOf('/dist/');
  return dist >= 0 ? f.url.slice(dist + '/dist/'.length) : f.url;
};

const self = new Map<string, number>();
const total = new Map<string, number>();
const byArea = new Map<string, number>();
let counted = 0;
let all = 0;
let idle = 0;
const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);

profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0;
  all += dt;
  const stack: CallFrame[] = [];
  for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) stack.push(nodes.get(cur)!.callFrame);
  if (filter && !stack.some((f) => fnKey(f).includes(filter))) return;
  counted += dt;
  const leaf = stack[0]!;
  if (leaf.functionName === '(idle)') {
    idle += dt;
    return;
  }
  add(self, fnKey(leaf), dt);
  add(byArea, area(leaf), dt);
  for (const k of new Set(stack.map(fnKey))) add(total, k, dt);
});

const busy = counted - idle || 1;
const pct = (v: number) => `${((v / busy) * 100).toFixed(1).padStart(5)} %`;
const print = (title: string, m: Map<string, number>, n: number) => {
  process.stdout.write(`\n${title}\n`);
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, n)) process.stdout.write(`  ${pct(v)}  ${(v / 1000).toFixed(0).padStart(7)} ms  ${k}\n`);
};

process.stdout.write(`profile: ${((profile.endTime - profile.startTime) / 1e6).toFixed(1)} s, sampled ${(all / 1e6).toFixed(1)} s${filter ? `, matching "${filter}" ${(counted / 1e6).toFixed(1)} s` : ''}, idle ${(idle / 1e6).toFixed(1)} s; percentages are of non-idle time\n`);
print('self time by area', byArea, top);
print('self time by function', self, top);
print('total (inclusive) time by function', total, top);
