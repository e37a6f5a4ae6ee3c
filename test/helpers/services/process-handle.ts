import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Keep only the tail of a chatty server's output; the end is what explains a failure. */
const LOG_LIMIT = 64 * 1024;
const POLL_INTERVAL_MS = 50;

/** Children still alive, so a runner that exits without its after-hooks does not orphan servers. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

export interface RunAs { uid: number; gid: number }
export interface ExitStatus { code: number | null; signal: NodeJS.Signals | null; error?: Error }
export interface SpawnOptions { cwd?: string | undefined; env?: NodeJS.ProcessEnv | undefined; runAs?: RunAs | undefined }

export interface LoggedProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** Resolves (never rejects) once the child is gone, including when it could not be spawned. */
  readonly exited: Promise<ExitStatus>;
  /** Resolves once stdout/stderr are drained too, i.e. the log is complete. */
  readonly closed: Promise<void>;
  hasExited(): boolean;
  log(): string;
}

export function describeExit(status: ExitStatus): string {
  if (status.error) return `failed: ${status.error.message}`;
  return status.signal ? `was killed by ${status.signal}` : `exited with code ${String(status.code)}`;
}

export function spawnLogged(command: string, args: readonly string[], options: SpawnOptions = {}): LoggedProcess {
  let buffer = '';
  const append = (chunk: Buffer): void => {
    buffer = (buffer + chunk.toString('utf8')).slice(-LOG_LIMIT);
  };
  // uid/gid instead of runuser: runuser answers SIGTERM by SIGKILLing its child after 2 s.
  const { cwd, env, runAs } = options;
  const child = spawn(command, args, { cwd, env, uid: runAs?.uid, gid: runAs?.gid, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  let done = false;
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', (error) => resolve({ code: null, signal: null, error }));
  }).finally(() => {
    done = true;
    live.delete(child);
  });
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()).once('error', () => resolve()));
  return { name: basename(command), child, exited, closed, hasExited: () => done, log: () => buffer };
}

/** Run a one-shot command; resolve with its stdout+stderr (last 64 KiB), reject with it on failure. */
export async function runCommand(command: string, args: readonly string[], options: SpawnOptions = {}): Promise<string> {
  const proc = spawnLogged(command, args, options);
  const status = await proc.exited;
  const output = await settledLog(proc);
  if (status.code !== 0) {
    throw new Error(`${proc.name} ${args.join(' ')} ${describeExit(status)}\n${output}`);
  }
  return output;
}

/**
 * 'exit' can precede the last stdio chunk, so wait for 'close' before quoting the log, but not
 * for long: a grandchild (e.g. a postgres backend) may hold the pipes open after the parent died.
 */
async function settledLog(proc: LoggedProcess): Promise<string> {
  await Promise.race([proc.closed, sleep(200)]);
  return proc.log();
}

/** True if something accepts a TCP connection on 127.0.0.1:port right now. */
export function tcpAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export interface WaitOptions { timeoutMs?: number | undefined; probe?: (() => Promise<boolean>) | undefined }

/** Poll until the service answers; fail at once if the child dies, and quote its log either way. */
export async function waitForPort(proc: LoggedProcess, port: number, options: WaitOptions = {}): Promise<void> {
  const probe = options.probe ?? (() => tcpAccepts(port));
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  for (;;) {
    if (proc.hasExited()) {
      const status = describeExit(await proc.exited);
      throw new Error(`${proc.name} ${status} before port ${port} was ready\n${await settledLog(proc)}`);
    }
    if (await probe()) return;
    if (Date.now() > deadline) {
      throw new Error(`${proc.name} did not become ready on port ${port} in time\n${proc.log()}`);
    }
    // Racing the exit promise is what makes a crash surface immediately rather than at the timeout.
    await Promise.race([sleep(POLL_INTERVAL_MS), proc.exited]);
  }
}

/** Signal the child and wait for it; escalate to SIGKILL if it ignores the polite request. */
export async function terminate(proc: LoggedProcess, signal: NodeJS.Signals = 'SIGTERM', killAfterMs = 5000): Promise<void> {
  if (proc.hasExited()) return;
  proc.child.kill(signal);
  // ref: false so a leftover timer never holds the test runner open.
  const late = await Promise.race([proc.exited.then(() => false), sleep(killAfterMs, true, { ref: false })]);
  if (late) {
    proc.child.kill('SIGKILL');
    await proc.exited;
  }
}

export function makeTempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `gatehouse-${prefix}-`));
}

export function removeDir(dir: string): Promise<void> {
  return rm(dir, { recursive: true, force: true });
}

export interface ManagedOptions {
  dir: string; port: number; launch: () => LoggedProcess; probe?: () => Promise<boolean>;
  /** Postgres wants SIGINT (fast shutdown); SIGTERM would wait for every client to leave. */
  stopSignal?: NodeJS.Signals;
}

export interface Managed { log(): string; stop(): Promise<void>; restart(): Promise<void> }

/** Launch a server that owns `dir`; stop() kills it and deletes the dir, restart() keeps the dir. */
export async function startManaged(options: ManagedOptions): Promise<Managed> {
  const signal = options.stopSignal ?? 'SIGTERM';
  const ready = (proc: LoggedProcess): Promise<void> => waitForPort(proc, options.port, { probe: options.probe });
  let current = options.launch();
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await terminate(current, signal);
    await removeDir(options.dir);
  };
  try {
    await ready(current);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    log: () => current.log(),
    stop,
    async restart() {
      if (stopped) throw new Error('restart() after stop()');
      await terminate(current, signal);
      current = options.launch();
      await ready(current);
    },
  };
}
