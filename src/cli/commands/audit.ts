/** gatehouse audit: the security events, oldest first */
import { Option } from 'commander';
import { leaf, type CliCommand, type CliDeps } from '../command-tree.js';
import { NotFoundError } from '../exit-codes.js';
import { collect, integerFrom1To, pointInTime } from '../option-values.js';

export function auditCommand(program: CliCommand, deps: CliDeps): void {
  leaf(program, {
    name: 'audit',
    description: 'print security events, oldest first (off a terminal: one JSON object a line)',
    options: [
      new Option('--account <id|email>', 'only this account’s events'),
      new Option('--since <time>', 'from this point: a duration ago (24h, 7d) or an ISO 8601 date-time').default(pointInTime('24h'), '24h').argParser(pointInTime),
      new Option('--until <time>', 'up to this point, in the same forms as --since').argParser(pointInTime),
      new Option('--type <type>', 'only this event type; one ending in . is a prefix (repeat it for more)').argParser(collect),
      new Option('--limit <n>', 'at most this many events (1 to 100000)').default(1000).argParser(integerFrom1To(100000)),
    ],
    example: 'gatehouse audit --account ada@example.com --since 24h --type login. --type password.reset',
    scripted: 'ndjson',
    plan(o) {
      const query = { since: o.since as number, until: o.until as number | undefined, types: o.type as string[] | undefined, limit: o.limit as number };
      const account = o.account as string | undefined;
      return async (c, out) => {
        let accountId = account;
        if (account?.includes('@')) {
          const found = await c.accounts.findByEmail(account);
          if (!found) throw new NotFoundError(`no account has the email ${account}`);
          accountId = found.id;
        }
        const events = await c.audit.query({ ...query, accountId });
        out.list(events.map((e) => ({ ...e, time: new Date(e.time).toISOString() })), ['time', 'type', 'result', 'accountId', 'clientId', 'ip', 'reason']);
      };
    },
  }, deps);
}
