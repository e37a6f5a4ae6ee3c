/**
 * Preloaded into the measured server processes (`node --expose-gc --import <this file> ...`), never part
 * of Gatehouse: on SIGUSR2 it runs a full GC and prints the process's memory as one line on stderr, so
 * the benchmark can read the idle RSS after a GC without changing the server.
 */
const gc = (globalThis as { gc?: () => void }).gc;

process.on('SIGUSR2', () => {
  gc?.();
  const m = process.memoryUsage();
  process.stderr.write(`BENCH_PROBE ${JSON.stringify({ gc: !!gc, rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external })}\n`);
});
