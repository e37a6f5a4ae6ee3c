/**
 * A measured server as a child process pinned to one core (`taskset -c`): started, polled until ready
 * (the time from spawn to the first successful readiness answer is the start-up time), probed for memory
 * (see probe.ts), sampled for CPU time, and stopped with SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { request } from 'undici';
import { CHILD_NODE_ARGS, codePath } from './code.js';

export type ServerProcess = {
  name: string;
  origin: string;
  pid: number;
  /** every process serving (a cluster's workers too) */
  pids(): number[];
  /** ms from spawn to the first 200 from the readiness URL */
  readyMs: number;
  /** full GC in the process, then its memory (bytes) */
  memory(): Promise<{ rss: number; heapUsed: number; gc: boolean }>;
  /** CPU seconds (user + system, all threads) used so far */
  cpuSeconds(): number;
  stderrTail(): string[];
  stop(): Promise<void>;
};

const PROBE = codePath('bench/probe.ts');
const CLOCK_TICKS = 100; // USER_HZ on Linux

export async function startServer(o: {
  name: string;
  script: string;
  env: Record<string, string>;
  origin: string;
  readyPath: string;
  /** taskset CPU list: `1`, or `0,1` for a server of several processes; none: not pinned (the tests) */
  cpus?: string;
  nodeArgs?: string[];
  timeoutMs?: number;
}): Promise<ServerProcess> {
  const started = performance.now();
  // tsx's loader (when running the sources) comes first: the probe is one of them
  const node = [process.execPath, ...CHILD_NODE_ARGS, '--expose-gc', '--import', PROBE, ...(o.nodeArgs ?? []), o.script];
  const [command, ...args] = o.cpus ? ['taskset', '-c', o.cpus, ...node] : node;
  const child = spawn(command!, args, {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...o.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tail: string[] = [];
  const probes: ((line: string) => void)[] = [];
  let buffered = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    let nl;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line.startsWith('BENCH_PROBE ')) probes.shift()?.(line.slice('BENCH_PROBE '.length));
      else keep(tail, line);
    }
  });
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => chunk.split('\n').filter(Boolean).forEach((l) => keep(tail, l)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const readyMs = await waitReady(child, exited, `${o.origin}${o.readyPath}`, started, o.timeoutMs ?? 20_000).catch(async (err: unknown) => {
    child.kill('SIGKILL');
    throw new Error(`${o.name} did not become ready: ${(err as Error).message}\n${tail.join('\n')}`);
  });

  return {
    name: o.name,
    origin: o.origin,
    pid: child.pid!,
    pids: () => processTree(child.pid!),
    readyMs,
    // every process of the tree has the probe (cluster workers inherit the primary's node arguments)
    memory: async () => {
      // idle means idle: a cluster's later workers may still be starting when the first answers
      await quiet(() => processTree(child.pid!).reduce((sum, pid) => sum + cpuSecondsOf(pid), 0));
      const pids = processTree(child.pid!);
      // a worker that has not loaded the probe would be ended by SIGUSR2
      await Promise.all(pids.map((pid) => catchesSigusr2(pid)));
      const answers = await Promise.all(
        pids.map(
          (pid) =>
            new Promise<{ rss: number; heapUsed: number; gc: boolean }>((resolve, reject) => {
              const timer = setTimeout(() => reject(new Error(`${o.name}: no memory probe answer`)), 5000);
              probes.push((json) => {
                clearTimeout(timer);
                resolve(JSON.parse(json));
              });
              process.kill(pid, 'SIGUSR2');
            }),
        ),
      );
      return { rss: answers.reduce((n, m) => n + m.rss, 0), heapUsed: answers.reduce((n, m) => n + m.heapUsed, 0), gc: answers.every((m) => m.gc) };
    },
    // the process and its live children (WORKERS > 1: the cluster's workers do the work)
    cpuSeconds: () => processTree(child.pid!).reduce((sum, pid) => sum + cpuSecondsOf(pid), 0),
    stderrTail: () => [...tail],
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** /proc/<pid>/stat: fields 14 and 15 (utime, stime) after the parenthesised command name; 0 once gone. */
function cpuSecondsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

/** Resolves once the processes used under 2 % of a core over a 250 ms window (at most `timeoutMs`). */
async function quiet(cpuSeconds: () => number, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let before = cpuSeconds();
  while (performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 250));
    const now = cpuSeconds();
    if (now - before < 0.005) return;
    before = now;
  }
}

/** Resolves once the process has a SIGUSR2 handler (bit 12 of SigCgt in /proc/<pid>/status), i.e. the probe is loaded. */
async function catchesSigusr2(pid: number, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const caught = /^SigCgt:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    if (caught && (BigInt(`0x${caught}`) >> 11n) & 1n) return;
    if (performance.now() > deadline) throw new Error(`process ${pid} has no SIGUSR2 handler (probe not loaded)`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function processTree(pid: number): number[] {
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(' ').filter(Boolean).map(Number);
  } catch {
    // gone
  }
  return [pid, ...children.flatMap(processTree)];
}

/** Several processes measured as one server (replicas behind one balancer): summed CPU and memory. */
export function combined(name: string, servers: ServerProcess[]): ServerProcess {
  if (servers.length === 1) return servers[0]!;
  return {
    name,
    origin: servers[0]!.origin,
    pid: servers[0]!.pid,
    pids: () => servers.flatMap((s) => s.pids()),
    readyMs: Math.max(...servers.map((s) => s.readyMs)),
    memory: async () => {
      const each = await Promise.all(servers.map((s) => s.memory()));
      return { rss: each.reduce((n, m) => n + m.rss, 0), heapUsed: each.reduce((n, m) => n + m.heapUsed, 0), gc: each.every((m) => m.gc) };
    },
    cpuSeconds: () => servers.reduce((n, s) => n + s.cpuSeconds(), 0),
    stderrTail: () => servers.flatMap((s) => s.stderrTail()),
    stop: async () => {
      await Promise.all(servers.map((s) => s.stop()));
    },
  };
}

function keep(tail: string[], line: string): void {
  tail.push(line);
  if (tail.length > 40) tail.shift();
}

async function waitReady(child: ChildProcess, exited: Promise<number | null>, url: string, started: number, timeoutMs: number): Promise<number> {
  let gone = false;
  void exited.then(() => (gone = true));
  while (performance.now() - started < timeoutMs) {
    if (gone) throw new Error(`exited with code ${child.exitCode}`);
    try {
      const res = await request(url, { headersTimeout: 2000, bodyTimeout: 2000 });
      await res.body.dump();
      if (res.statusCode === 200) return Math.round(performance.now() - started);
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`not ready after ${timeoutMs} ms`);
}
