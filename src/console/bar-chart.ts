/**
 * Server-rendered SVG charts for the dashboard (no script, so strict CSP and no JavaScript hold): counts
 * per time bucket as pairs of bars (successes and failures), with a text alternative for screen readers.
 */
export type Bucket = { label: string; ok: number; failed: number };
export type BarChart = {
  /** a message key of console.json: the page shows it in its locale */
  title: string;
  width: number;
  height: number;
  /** `tip`: the bucket's label and `count`, worded by the page (console.dashboard.barOk / barFailed) */
  bars: { x: number; y: number; height: number; kind: 'ok' | 'fail'; tip: string; count: number }[];
  labels: { x: number; text: string }[];
  max: number;
  /** the totals the text alternative gives (console.dashboard.chartSummary) */
  ok: number;
  failed: number;
};

const W = 600;
const H = 160;
const BASE = 140;

/** Buckets `times` (epoch ms) into `count` buckets of `size` ms ending at `end`. */
export function bucketise(events: { time: number; failed: boolean }[], end: number, size: number, count: number, label: (start: number) => string): Bucket[] {
  const buckets = Array.from({ length: count }, (_, i) => ({ label: label(end - (count - i) * size), ok: 0, failed: 0 }));
  for (const e of events) {
    const i = count - 1 - Math.floor((end - 1 - e.time) / size);
    const b = buckets[i];
    if (!b) continue;
    if (e.failed) b.failed += 1;
    else b.ok += 1;
  }
  return buckets;
}

export function barChart(title: string, buckets: Bucket[], labelEvery: number): BarChart {
  const max = Math.max(1, ...buckets.map((b) => Math.max(b.ok, b.failed)));
  const slot = W / buckets.length;
  const barWidth = Math.max(1, slot / 2 - 1);
  const scale = (n: number) => Math.round((n / max) * (BASE - 10));
  const bars = buckets.flatMap((b, i) => [
    { x: Math.round(i * slot), y: BASE - scale(b.ok), height: scale(b.ok), kind: 'ok' as const, tip: b.label, count: b.ok },
    { x: Math.round(i * slot + barWidth + 1), y: BASE - scale(b.failed), height: scale(b.failed), kind: 'fail' as const, tip: b.label, count: b.failed },
  ]);
  const labels = buckets.map((b, i) => ({ x: Math.round(i * slot), text: b.label })).filter((_, i) => i % labelEvery === 0);
  const ok = buckets.reduce((n, b) => n + b.ok, 0);
  const failed = buckets.reduce((n, b) => n + b.failed, 0);
  return { title, width: W, height: H, bars: bars.map((b) => ({ ...b, width: barWidth })) as BarChart['bars'], labels, max, ok, failed };
}
