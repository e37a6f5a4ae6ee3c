/**
 * Two ways to load a server with one operation (an async function that sends one request, or one whole
 * login flow, and throws when the answer is not the expected one):
 *
 * - closedLoop: a fixed number of workers, each sending its next request as soon as the last one is
 *   answered. This finds the maximum rate; latency here includes queueing at the server.
 * - counted: a fixed number of operations by a fixed number of workers, however long they take. For
 *   harvesting what a scenario needs, and for the test that every scenario still runs (no timing there).
 * - paced: requests start on a fixed schedule (rate per second, evenly spaced), whatever the answers
 *   do. Latency is measured from the scheduled start, so a stalled server cannot hide its stall by
 *   slowing the generator down (no coordinated omission). This is the "p99 at half load" measure.
 *
 * autocannon was the first choice, but its rate mode lets each connection send its whole per-second
 * quota back to back at the top of each second, then idle: at "50 % load" the server would see full
 * load half of the time, which is not what we want to measure.
 */
import { performance } from 'node:perf_hooks';

export type Operation = () => Promise<void>;

export type LoadResult = {
  mode: 'closed' | 'counted' | 'paced';
  /** connections (closed) or the scheduled rate (paced) */
  concurrency?: number;
  targetRate?: number;
  seconds: number;
  ok: number;
  errors: number;
  /** successful operations per second */
  rate: number;
  latencyMs: LatencySummary;
  errorSamples: string[];
};

export type LatencySummary = { p50: number; p95: number; p99: number; max: number; mean: number };

/** Latencies and errors of one kind of operation (the studies that drive their own schedules use it too). */
export class Recorder {
  private samples: number[] = [];
  errors = 0;
  errorSamples: string[] = [];

  ok(ms: number): void {
    this.samples.push(ms);
  }

  fail(err: unknown): void {
    this.errors++;
    if (this.errorSamples.length < 5) this.errorSamples.push(err instanceof Error ? err.message : String(err));
  }

  summary(): LatencySummary {
    const s = this.samples.sort((a, b) => a - b);
    if (s.length === 0) return { p50: NaN, p95: NaN, p99: NaN, max: NaN, mean: NaN };
    const at = (q: number) => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] as number;
    const round = (n: number) => Math.round(n * 100) / 100;
    return { p50: round(at(0.5)), p95: round(at(0.95)), p99: round(at(0.99)), max: round(s[s.length - 1] as number), mean: round(s.reduce((a, b) => a + b, 0) / s.length) };
  }

  get count(): number {
    return this.samples.length;
  }
}

/** Runs one operation and records its latency, or its error. */
async function timed(rec: Recorder, op: Operation): Promise<void> {
  const t0 = performance.now();
  try {
    await op();
    rec.ok(performance.now() - t0);
  } catch (err) {
    rec.fail(err);
  }
}

export async function closedLoop(op: Operation, o: { concurrency: number; seconds: number }): Promise<LoadResult> {
  const rec = new Recorder();
  const started = performance.now();
  const end = started + o.seconds * 1000;
  const worker = async () => {
    while (performance.now() < end) {
      await timed(rec, op);
    }
  };
  await Promise.all(Array.from({ length: o.concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  return { mode: 'closed', concurrency: o.concurrency, seconds, ok: rec.count, errors: rec.errors, rate: rec.count / seconds, latencyMs: rec.summary(), errorSamples: rec.errorSamples };
}

export async function counted(op: Operation, o: { times: number; concurrency: number }): Promise<LoadResult> {
  const rec = new Recorder();
  const started = performance.now();
  let left = o.times;
  const worker = async () => {
    while (left-- > 0) {
      await timed(rec, op);
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.concurrency, o.times) }, worker));
  const seconds = (performance.now() - started) / 1000;
  return { mode: 'counted', concurrency: o.concurrency, seconds, ok: rec.count, errors: rec.errors, rate: rec.count / seconds, latencyMs: rec.summary(), errorSamples: rec.errorSamples };
}

export async function paced(op: Operation, o: { rate: number; seconds: number }): Promise<LoadResult> {
  const rec = new Recorder();
  const interval = 1000 / o.rate;
  const total = Math.max(1, Math.floor(o.rate * o.seconds));
  const started = performance.now();
  const inFlight = new Set<Promise<void>>();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      // start every request whose scheduled time has come (timers fire at ~1 ms granularity)
      while (sent < total && started + sent * interval <= now) {
        const scheduled = started + sent * interval;
        sent++;
        const p: Promise<void> = op().then(
          () => rec.ok(performance.now() - scheduled),
          (err: unknown) => rec.fail(err),
        ).finally(() => inFlight.delete(p));
        inFlight.add(p);
      }
      if (sent < total) setTimeout(tick, Math.max(0, Math.min(1, started + sent * interval - now)));
      else resolve();
    };
    tick();
  });
  await Promise.all(inFlight);
  const seconds = (performance.now() - started) / 1000;
  return { mode: 'paced', targetRate: o.rate, seconds, ok: rec.count, errors: rec.errors, rate: rec.count / seconds, latencyMs: rec.summary(), errorSamples: rec.errorSamples };
}
