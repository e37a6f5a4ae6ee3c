/** The stores the management API tests run on (issue 13: SQLite, and PostgreSQL + Redis), each started for real. */
import { startPostgres } from '../helpers/services/postgres-server.js';
import { startRedis } from '../helpers/services/redis-server.js';

export type StoreSetup = { name: string; start(): Promise<{ env: Record<string, string>; stop(): Promise<void> }> };

export const STORES: StoreSetup[] = [
  { name: 'SQLite', start: async () => ({ env: {}, stop: async () => {} }) },
  {
    name: 'PostgreSQL + Redis',
    async start() {
      const [postgres, redis] = await Promise.all([startPostgres(), startRedis()]);
      return { env: { DATABASE_URL: postgres.url, REDIS_URL: redis.url }, stop: async () => void (await Promise.all([postgres.stop(), redis.stop()])) };
    },
  },
];
