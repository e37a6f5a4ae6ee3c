/**
 * How busy the machine was: per-core CPU shares from /proc/stat between two snapshots (including steal,
 * the time the hypervisor gave our vCPU to someone else), and the load average over the run. On a machine
 * shared with other work, these say how far to trust each number.
 */
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

type CoreTicks = { user: number; system: number; idle: number; iowait: number; steal: number; total: number };
export type CpuSnapshot = Record<string, CoreTicks>;
export type CoreShares = { busy: number; steal: number; idle: number };

export function cpuSnapshot(): CpuSnapshot {
  const out: CpuSnapshot = {};
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^(cpu\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    // user nice system idle iowait irq softirq steal guest guest_nice
    const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = m[2]!.split(/\s+/).map(Number);
    out[m[1]!] = { user: user + nice, system: system + irq + softirq, idle, iowait, steal, total: user + nice + system + idle + iowait + irq + softirq + steal };
  }
  return out;
}

/** Percent of each core's time that was busy (user+system), stolen, or idle between two snapshots. */
export function cpuShares(before: CpuSnapshot, after: CpuSnapshot): Record<string, CoreShares> {
  const out: Record<string, CoreShares> = {};
  for (const [core, a] of Object.entries(after)) {
    const b = before[core];
    if (!b) continue;
    const total = a.total - b.total || 1;
    const pct = (n: number) => Math.round((n / total) * 1000) / 10;
    out[core] = { busy: pct(a.user + a.system - b.user - b.system), steal: pct(a.steal - b.steal), idle: pct(a.idle + a.iowait - b.idle - b.iowait) };
  }
  return out;
}

export function loadAverage(): [number, number, number] {
  const [one = 0, five = 0, fifteen = 0] = readFileSync('/proc/loadavg', 'utf8').split(' ').map(Number);
  return [one, five, fifteen];
}

/**
 * Samples the 1-minute load average every few seconds for the length of the run, and notes the other
 * busy processes seen (ps's %CPU is the process's lifetime average: enough to name who else was running).
 */
export function loadSampler(ownPids: () => number[], everyMs = 5000) {
  const samples: { at: number; load1: number }[] = [];
  const others = new Map<string, number>();
  const take = () => {
    samples.push({ at: Date.now(), load1: loadAverage()[0] });
    const own = new Set([process.pid, ...ownPids()]);
    for (const p of busyProcesses()) if (!own.has(p.pid) && !/^ps |\/dist\/(bench|src)\//.test(p.command)) others.set(p.command, Math.max(others.get(p.command) ?? 0, p.cpu));
  };
  take();
  const timer = setInterval(take, everyMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      take();
      const loads = samples.map((s) => s.load1);
      const busyOthers = [...others].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([command, cpu]) => `${cpu}% ${command}`);
      return { samples, busyOthers, min: Math.min(...loads), max: Math.max(...loads), mean: Math.round((loads.reduce((a, b) => a + b, 0) / loads.length) * 100) / 100 };
    },
  };
}

function busyProcesses(minCpu = 20): { pid: number; cpu: number; command: string }[] {
  try {
    return execFileSync('ps', ['-eo', 'pid,pcpu,args', '--sort=-pcpu', '--no-headers'], { encoding: 'utf8' })
      .trim().split('\n')
      .map((l) => /^\s*(\d+)\s+([\d.]+)\s+(.*)$/.exec(l))
      .filter((m): m is RegExpExecArray => !!m && Number(m[2]) >= minCpu)
      .map((m) => ({ pid: Number(m[1]), cpu: Number(m[2]), command: m[3]!.slice(0, 100) }));
  } catch {
    return [];
  }
}
