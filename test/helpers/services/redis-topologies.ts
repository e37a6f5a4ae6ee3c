/**
 * Redis the way production runs it, on 127.0.0.1: a 3-master Cluster, and one master watched by a
 * Sentinel. Both are throwaway (no persistence, temp dirs) and stop every process they started.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from './free-port.js';
import { makeTempDir, removeDir, runCommand, spawnLogged, startManaged, type Managed } from './process-handle.js';

export interface RedisTopology {
  /** A REDIS_URL for Gatehouse. */
  url: string;
  stop(): Promise<void>;
}

const base = (port: number, dir: string) => [
  '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', '--logfile', '',
];

async function startAll(starts: (() => Promise<Managed>)[]): Promise<Managed[]> {
  const results = await Promise.allSettled(starts.map((start) => start()));
  const started = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.all(started.map((m) => m.stop()));
    throw failed.reason;
  }
  return started;
}

/** Three masters, slots spread by `redis-cli --cluster create`; resolves once cluster_state is ok. */
export async function startRedisCluster(): Promise<RedisTopology> {
  const ports = await Promise.all([1, 2, 3].map(() => freePort()));
  const nodes = await startAll(
    ports.map((port) => async () => {
      const dir = await makeTempDir('redis-cluster');
      const busPort = await freePort();
      const args = [...base(port, dir), '--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf'), '--cluster-port', String(busPort)];
      return startManaged({ dir, port, launch: () => spawnLogged('redis-server', args, { cwd: dir }) });
    }),
  );
  const stop = async () => {
    await Promise.all(nodes.map((n) => n.stop()));
  };
  try {
    await runCommand('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes']);
    // Every node must agree before a client's first CLUSTER SLOTS sees the whole map.
    for (const port of ports) {
      const deadline = Date.now() + 15_000;
      while (!/cluster_state:ok/.test(await runCommand('redis-cli', ['-p', String(port), 'cluster', 'info']))) {
        if (Date.now() > deadline) throw new Error(`cluster node ${port} did not reach cluster_state:ok`);
        await sleep(100);
      }
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { url: `redis+cluster://${ports.map((p) => `127.0.0.1:${p}`).join(',')}`, stop };
}

/** One master and one Sentinel monitoring it as `gatehouse-master` (quorum 1). */
export async function startRedisSentinel(): Promise<RedisTopology> {
  const [masterPort, sentinelPort] = await Promise.all([freePort(), freePort()]);
  const masterDir = await makeTempDir('redis-master');
  const sentinelDir = await makeTempDir('redis-sentinel');
  let master: Managed | undefined;
  try {
    master = await startManaged({
      dir: masterDir, port: masterPort, launch: () => spawnLogged('redis-server', base(masterPort, masterDir), { cwd: masterDir }),
    });
    // Sentinel rewrites its config file as it learns, so it must be a writable file of its own.
    const conf = join(sentinelDir, 'sentinel.conf');
    await writeFile(conf, [
      `port ${sentinelPort}`, 'bind 127.0.0.1', `dir ${sentinelDir}`,
      `sentinel monitor gatehouse-master 127.0.0.1 ${masterPort} 1`,
      'sentinel down-after-milliseconds gatehouse-master 5000',
    ].join('\n'));
    const sentinel = await startManaged({
      dir: sentinelDir, port: sentinelPort, launch: () => spawnLogged('redis-server', [conf, '--sentinel'], { cwd: sentinelDir }),
    });
    const m = master;
    return {
      url: `redis+sentinel://127.0.0.1:${sentinelPort}/gatehouse-master`,
      async stop() {
        await Promise.all([sentinel.stop(), m.stop()]);
      },
    };
  } catch (error) {
    await master?.stop();
    await Promise.all([removeDir(masterDir), removeDir(sentinelDir)]);
    throw error;
  }
}
