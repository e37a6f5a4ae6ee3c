/**
 * Issue 16 item 2: a change and the event it causes are one unit of work. With the outbox unable to
 * take an event (a trigger that refuses every insert, standing in for a crash or a failed write between the
 * two), no door keeps the change without its event: the account, its profile change, the role, the client
 * and a registration are not stored, and nothing is delivered. Once the outbox works again the same
 * requests succeed, and each event arrives once. On SQLite and on PostgreSQL + Redis.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { UserAgent } from '../helpers/user-agent.js';
import { createAdminCaller, managementToken } from '../admin/admin-client.js';
import { ADMIN_SCOPES } from '../../src/admin/admin-scopes.js';
import { STORES } from '../admin/stores.js';
import { FAST_WEBHOOKS, startWebhookReceiver, type WebhookReceiver } from './webhook-receiver.js';

type Outbox = { breakIt(): Promise<void>; mend(): Promise<void>; close(): Promise<void> };

/** a second connection to the server's own database, to make the outbox refuse inserts */
async function outboxOf(gh: TestGatehouse, env: Record<string, string>): Promise<Outbox> {
  if (env.DATABASE_URL) {
    const client = new pg.Client({ connectionString: env.DATABASE_URL });
    await client.connect();
    await client.query(`CREATE OR REPLACE FUNCTION outbox_down() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'outbox down'; END $$ LANGUAGE plpgsql`);
    return {
      breakIt: async () => void (await client.query('CREATE TRIGGER outbox_down BEFORE INSERT ON event_outbox FOR EACH ROW EXECUTE FUNCTION outbox_down()')),
      mend: async () => void (await client.query('DROP TRIGGER outbox_down ON event_outbox')),
      close: () => client.end(),
    };
  }
  const db = new Database(join(gh.dataDir, 'gatehouse.db'));
  db.pragma('busy_timeout = 5000');
  return {
    breakIt: async () => void db.exec(`CREATE TRIGGER outbox_down BEFORE INSERT ON event_outbox BEGIN SELECT RAISE(ABORT, 'outbox down'); END`),
    mend: async () => void db.exec('DROP TRIGGER outbox_down'),
    close: async () => void db.close(),
  };
}

for (const setup of STORES) {
  describe(`events: a change is stored with its event or not at all (${setup.name})`, function () {
    this.timeout(60_000);
    let services: Awaited<ReturnType<typeof setup.start>>;
    let gh: TestGatehouse;
    let receiver: WebhookReceiver;
    let outbox: Outbox;
    let call: ReturnType<typeof createAdminCaller>;
    let root: string;

    before(async () => {
      services = await setup.start();
      receiver = await startWebhookReceiver();
      gh = await bootGatehouse({ ...services.env, ...FAST_WEBHOOKS, REGISTRATION_ENABLED: 'true' });
      call = createAdminCaller(gh);
      root = await managementToken(gh, Object.keys(ADMIN_SCOPES).join(' '));
      assert.equal((await call('POST', '/webhooks', { token: root, body: { url: receiver.url } })).status, 201);
      outbox = await outboxOf(gh, services.env);
    });
    after(async () => {
      await outbox?.close();
      await gh?.close();
      await receiver?.close();
      await services?.stop();
    });

    it('keeps no change whose event could not be stored, through the API and the registration page; and each event once after', async () => {
      const existing = await call('POST', '/users', { token: root, body: { email: 'kept@example.com', name: 'Before' } });
      assert.equal(existing.status, 201);
      const id = String(existing.body.id);
      const etag = (await call('GET', `/users/${id}`, { token: root })).headers.get('etag')!;

      await outbox.breakIt();
      const created = await call('POST', '/users', { token: root, body: { email: 'lost@example.com', password: 'a password that is long enough 1' } });
      assert.ok(created.status >= 500, `a failed write is the server's failure: ${created.status}`);
      assert.equal(JSON.stringify(created.body).includes('outbox down'), false, 'no internal detail in the answer');
      const patched = await call('PATCH', `/users/${id}`, { token: root, body: { name: 'After' }, headers: { 'if-match': etag } });
      assert.ok(patched.status >= 500);
      assert.ok((await call('POST', '/roles', { token: root, body: { name: 'lost-role' } })).status >= 500);
      assert.ok((await call('POST', '/clients', { token: root, body: { redirect_uris: ['http://127.0.0.1:9/cb'], scope: 'openid' } })).status >= 500);
      const agent = new UserAgent();
      const form = await agent.open(`${gh.issuer}/register`);
      const registered = await agent.submit(form, '/register', { email: 'lost-too@example.com', password: 'another long password here 2', confirm: 'another long password here 2', name: 'X' });
      assert.ok(registered.status >= 500, `the registration page fails: ${registered.status}`);
      assert.doesNotMatch(registered.html, /outbox down|at .*\.ts:/, 'a friendly page, no stack trace');

      // nothing of it was kept
      const list = await call('GET', '/users?limit=100', { token: root });
      const emails = (list.body.items as { email: string }[]).map((u) => u.email);
      assert.deepEqual(emails.filter((e) => e.startsWith('lost')), []);
      assert.equal((await call('GET', `/users/${id}`, { token: root })).body.name, 'Before');
      assert.equal((await call('GET', '/roles/lost-role', { token: root })).status, 404);
      const clients = (await call('GET', '/clients?limit=100', { token: root })).body.items as { redirect_uris?: string[] }[];
      assert.equal(clients.some((c) => c.redirect_uris?.includes('http://127.0.0.1:9/cb')), false);

      await outbox.mend();
      assert.equal((await call('POST', '/users', { token: root, body: { email: 'lost@example.com' } })).status, 201);
      assert.equal((await call('PATCH', `/users/${id}`, { token: root, body: { name: 'After' }, headers: { 'if-match': etag } })).status, 200);
      await receiver.until('the events of the changes made', (r) => r.filter((x) => x.status === 200 && /"type":"user\.(created|updated)"/.test(x.body)).length >= 3);
      const bodies = receiver.received.filter((x) => x.status === 200).map((x) => x.body);
      assert.equal(bodies.filter((b) => b.includes('"type":"user.created"')).length, 2, 'kept@ and, after the mend, lost@: once each');
      assert.equal(bodies.filter((b) => b.includes('"type":"user.updated"')).length, 1);
      assert.equal(bodies.some((b) => b.includes('lost-role') || b.includes('lost-too')), false, 'no event of a change that did not happen');
    });
  });
}
