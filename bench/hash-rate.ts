/**
 * The ceiling for login flows: how many bcrypt.compare calls per second this core allows at the
 * configured cost, with as many in flight as the login-flow pass uses. run.ts starts this as a process
 * pinned to the servers' core; it prints one JSON line.
 *
 *   node dist/bench/hash-rate.js <cost> <seconds> <concurrency>
 */
import { performance } from 'node:perf_hooks';
import bcrypt from 'bcrypt';

const [cost = 12, seconds = 5, concurrency = 4] = process.argv.slice(2).map(Number);
// What Gatehouse compares: a 64-character HMAC pre-hash of the password (src/accounts/passwords.ts).
const candidate = 'x'.repeat(64);
const hash = await bcrypt.hash(candidate, cost);

let done = 0;
const cpu0 = process.cpuUsage();
const started = performance.now();
const end = started + seconds * 1000;
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    while (performance.now() < end) {
      if (!(await bcrypt.compare(candidate, hash))) throw new Error('bcrypt.compare failed');
      done++;
    }
  }),
);
const elapsed = (performance.now() - started) / 1000;
// user + system time of every thread of the process: the hashes run on libuv's pool
const cpu = process.cpuUsage(cpu0);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
process.stdout.write(`${JSON.stringify({ cost, concurrency, seconds: elapsed, compares: done, rate: done / elapsed, perCpuSecond: done / cpuSeconds })}\n`);
