/**
 * Issue 22 items 2 and 3, for every command on a running server's context: `--output json` is JSON a script
 * can parse (NDJSON for lists with `--output ndjson`), a table on a terminal, a secret shown once marked in
 * both; not found exits 3 and a conflict 4.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { cliInProcess, type InProcessRun } from '../helpers/cli-in-process.js';
import { buildProgram } from '../../src/cli/program.js';
import { commandPath, leaves } from '../../src/cli/command-tree.js';

const EMAIL = 'grace@example.test';
/** made before the commands run: set-email moves it to DOOMED2, delete erases it; OTHER stays for the conflicts */
const DOOMED = 'doomed@example.test';
const DOOMED2 = 'doomed.moved@example.test';
const OTHER = 'other@example.test';
const API = 'https://json.example.test';

describe('every gatehouse command: JSON for scripts, exit codes 3 and 4', () => {
  let gh: TestGatehouse;
  let nextKid = '';
  let webhook = '';
  let delivery = '';
  const cli = (...argv: string[]): Promise<InProcessRun> => cliInProcess(gh.context, argv);

  let work = '';
  before(async () => {
    // one upstream provider, for `federation list | show` (an OAuth 2.0 one: nothing is fetched before a sign-in)
    work = await mkdtemp(join(tmpdir(), 'gatehouse-cli-'));
    const federation = join(work, 'federation.json');
    await writeFile(federation, JSON.stringify({ oidc: { providers: [{ id: 'octo', preset: 'github', clientId: 'gh-app', clientSecret: 'gh-secret-never-printed', emailDomains: ['octo.test'] }] } }));
    gh = await bootGatehouse({ FEDERATION_FILE: federation });
    for (const email of [DOOMED, OTHER]) await gh.context.accounts.create({ email, password: 'a long enough passphrase' });
    await gh.context.clients.create({ client_id: 'doomed-job', redirect_uris: ['http://127.0.0.1:9/cb'] });
    for (const name of ['ops', 'admin']) await gh.context.roles.create({ name });
  });
  after(async () => {
    await gh?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  // in this order: later commands use what earlier ones created
  const valid: [string, () => string[], (printed: unknown) => void][] = [
    ['gatehouse users create', () => ['--email', EMAIL, '--password', 'a long enough passphrase'], (p) => assert.equal((p as { email: string }).email, EMAIL)],
    ['gatehouse users set-password', () => ['--email', EMAIL, '--password', 'another long passphrase'], (p) => assert.equal((p as { sessions_ended: number }).sessions_ended, 0)],
    ['gatehouse users roles', () => ['--email', EMAIL, '--set', 'ops,admin'], (p) => assert.deepEqual((p as { roles: string[] }).roles, ['admin', 'ops'])],
    ['gatehouse users list', () => ['--email-prefix', 'GRACE@'], (p) => assert.deepEqual((p as { email: string }[]).map((u) => u.email), [EMAIL])],
    ['gatehouse users show', () => ['--email', EMAIL.toUpperCase()], (p) => assert.deepEqual([(p as { status: string }).status, (p as { totp: string }).totp], ['active', 'none'])],
    ['gatehouse users unlock', () => ['--email', EMAIL], (p) => assert.equal((p as { unlocked: boolean }).unlocked, true)],
    ['gatehouse users reset-factors', () => ['--email', EMAIL], (p) => assert.equal((p as { webauthn_removed: number }).webauthn_removed, 0)],
    ['gatehouse users disable', () => ['--email', EMAIL, '--note', 'test'], (p) => assert.equal((p as { status: string }).status, 'disabled')],
    ['gatehouse users enable', () => ['--email', EMAIL], (p) => assert.equal((p as { status: string }).status, 'active')],
    ['gatehouse users set-email', () => ['--email', DOOMED, '--new-email', DOOMED2, '--verified'], (p) => assert.equal((p as { email: string }).email, DOOMED2)],
    ['gatehouse resources create', () => ['--identifier', API, '--scope', 'r=Read things'], (p) => assert.deepEqual((p as { scopes: object }).scopes, { r: 'Read things' })],
    ['gatehouse resources list', () => [], (p) => assert.ok((p as { identifier: string }[]).some((r) => r.identifier === API))],
    ['gatehouse resources update', () => ['--identifier', API, '--token-claim', 'permissions'], (p) => assert.deepEqual((p as { tokenClaims: string[] }).tokenClaims, ['permissions'])],
    ['gatehouse roles create', () => ['--name', 'reader', '--description', 'Reads', '--permission', `${API}=r`], (p) => assert.deepEqual((p as { permissions: string[] }).permissions, [`${API}=r`])],
    ['gatehouse roles list', () => [], (p) => assert.deepEqual((p as { name: string }[]).map((r) => r.name), ['admin', 'gatehouse:admin', 'gatehouse:auditor', 'gatehouse:user-admin', 'ops', 'reader'])],
    ['gatehouse roles show', () => ['--name', 'gatehouse:admin'], (p) => assert.equal((p as { system: boolean }).system, true)],
    ['gatehouse roles revoke', () => ['--name', 'reader', '--permission', `${API}=r`], (p) => assert.deepEqual((p as { permissions: string[] }).permissions, [])],
    ['gatehouse roles grant', () => ['--name', 'reader', '--permission', `${API}=r`], (p) => assert.deepEqual((p as { permissions: string[] }).permissions, [`${API}=r`])],
    ['gatehouse roles assign', () => ['--name', 'reader', '--email', EMAIL], (p) => assert.deepEqual((p as { roles: string[] }).roles, ['admin', 'ops', 'reader'])],
    ['gatehouse roles unassign', () => ['--name', 'reader', '--email', EMAIL], (p) => assert.deepEqual((p as { roles: string[] }).roles, ['admin', 'ops'])],
    ['gatehouse roles delete', () => ['--name', 'reader', '--yes'], (p) => assert.deepEqual(p, { name: 'reader', deleted: true })],
    ['gatehouse clients create', () => ['--json', JSON.stringify({ client_id: 'json-job', grant_types: ['client_credentials'], response_types: [], redirect_uris: [], scope: 'r' })],
      (p) => assert.deepEqual((p as { shown_once: string[] }).shown_once, ['client_secret'])],
    ['gatehouse clients list', () => [], (p) => assert.ok((p as { client_id: string }[]).some((c) => c.client_id === 'json-job'))],
    ['gatehouse clients set-scope', () => ['--client-id', 'json-job', '--scope', 'r'], (p) => assert.equal((p as { scope: string }).scope, 'r')],
    ['gatehouse clients update', () => ['--client-id', 'json-job', '--json', JSON.stringify({ client_name: 'JSON job' })], (p) => assert.equal((p as { client_name: string }).client_name, 'JSON job')],
    ['gatehouse clients rotate-secret', () => ['--client-id', 'json-job', '--overlap', '10m'],
      (p) => assert.deepEqual([(p as { shown_once: string[] }).shown_once, typeof (p as { previous_secret_valid_until: string }).previous_secret_valid_until], [['client_secret'], 'string'])],
    ['gatehouse clients initial-token create', () => ['--ttl', '1h'], (p) => assert.deepEqual((p as { shown_once: string[] }).shown_once, ['initial_access_token'])],
    ['gatehouse resources introspector', () => ['--identifier', API, '--client-id', 'json-job'], (p) => assert.deepEqual((p as { gatehouse_introspects: string[] }).gatehouse_introspects, [API])],
    ['gatehouse keys list', () => [], (p) => assert.equal((p as { state: string }[]).filter((k) => k.state === 'current').length, 1)],
    ['gatehouse keys rotate', () => [], (p) => (nextKid = (p as { kid: string }).kid)],
    ['gatehouse keys revoke', () => ['--', nextKid], (p) => assert.deepEqual(p, { revoked: nextKid, was: 'next', current: (p as { current: string }).current })],
    ['gatehouse keys reencrypt', () => [], (p) => assert.equal(typeof p, 'object')],
    ['gatehouse audit', () => ['--type', 'admin.'], (p) => assert.ok((p as { type: string }[]).some((e) => e.type === 'admin.user.created'))],
    // a public address literal (no DNS lookup here), disabled: nothing is sent from the test
    ['gatehouse webhooks create', () => ['--url', 'https://93.184.215.14/hooks', '--event', 'user.created', '--disabled'],
      (p) => assert.deepEqual([(p as { shown_once: string[] }).shown_once, (webhook = (p as { id: string }).id).slice(0, 3)], [['secret'], 'ep_'])],
    ['gatehouse webhooks list', () => [], (p) => assert.ok((p as { id: string }[]).some((e) => e.id === webhook))],
    ['gatehouse webhooks update', () => [webhook, '--description', 'CRM', '--rotate-secret', '--overlap', '1h'], (p) => assert.deepEqual((p as { shown_once: string[] }).shown_once, ['secret'])],
    ['gatehouse webhooks test', () => [webhook], (p) => assert.equal((delivery = (p as { id: string }).id) && (p as { status: string }).status, 'pending')],
    ['gatehouse webhooks deliveries', () => [webhook], (p) => assert.deepEqual((p as { id: string }[]).map((d) => d.id), [delivery])],
    ['gatehouse webhooks redeliver', () => [webhook, '--delivery', delivery], (p) => assert.equal((p as { event_type: string }).event_type, 'webhook.test')],
    ['gatehouse webhooks delete', () => [webhook], (p) => assert.deepEqual(p, { id: webhook, deleted: true })],
    ['gatehouse federation create', () => ['--protocol', 'oauth2', '--settings', JSON.stringify({ id: 'forge', preset: 'github', clientId: 'forge-app', clientSecret: 'cli-secret-never-printed', emailDomains: ['forge.test'] })],
      (p) => assert.ok((p as { source: string }).source === 'api' && !JSON.stringify(p).includes('cli-secret-never-printed'))],
    ['gatehouse federation list', () => [], (p) => assert.deepEqual(p, [
      { id: 'octo', protocol: 'oauth2', name: 'GitHub', domains: '', link_existing_accounts: false, source: 'federation-file' },
      { id: 'forge', protocol: 'oauth2', name: 'GitHub', domains: '', link_existing_accounts: false, source: 'api' },
    ])],
    ['gatehouse federation update', () => ['forge', '--protocol', 'oauth2', '--settings', JSON.stringify({ preset: 'github', name: 'Forge', clientId: 'forge-app', clientSecret: 'cli-secret-2', emailDomains: ['forge.test'] })],
      (p) => assert.equal((p as { name: string }).name, 'Forge')],
    ['gatehouse federation delete', () => ['forge', '--yes'], (p) => assert.deepEqual(p, { id: 'forge', deleted: true })],
    ['gatehouse federation show', () => ['octo'], (p) => assert.ok(!JSON.stringify(p).includes('gh-secret-never-printed') && (p as { settings: { client_auth_method: string } }).settings.client_auth_method !== undefined)],
    ['gatehouse tenants create', () => ['--id', 'acme', '--name', 'Acme', '--settings', '{"policy":{"passwordMinLength":16}}'],
      (p) => assert.deepEqual([(p as { issuer: string }).issuer.endsWith('/t/acme'), (p as { settings: { policy: object } }).settings.policy], [true, { passwordMinLength: 16 }])],
    ['gatehouse tenants list', () => [], (p) => assert.deepEqual((p as { id: string }[]).map((t) => t.id), ['acme'])],
    ['gatehouse tenants update', () => ['--id', 'acme', '--settings', '{"branding":{"name":"Acme Inc"}}'],
      (p) => assert.deepEqual([(p as { version: number }).version, (p as { settings: object }).settings], [2, { policy: { passwordMinLength: 16 }, branding: { name: 'Acme Inc' } }])],
    ['gatehouse tenants show', () => ['--id', 'acme'], (p) => assert.equal((p as { name: string }).name, 'Acme')],
    ['gatehouse tenants delete', () => ['--id', 'acme', '--yes'], (p) => assert.deepEqual(p, { id: 'acme', deleted: true })],
    ['gatehouse clients delete', () => ['--client-id', 'doomed-job', '--yes'], (p) => assert.deepEqual(p, { deleted: 'doomed-job' })],
    ['gatehouse users delete', () => ['--email', DOOMED2, '--yes'], (p) => assert.match((p as { audit_pseudonym: string }).audit_pseudonym, /^erased:/)],
  ];

  it('the table covers every command (a new command needs its case here)', () => {
    const program = buildProgram({ open: () => Promise.reject(new Error('unused')), streams: process });
    const names = leaves(program).map(commandPath).filter((n) => !/^gatehouse (help|completion)$/.test(n));
    assert.deepEqual(valid.map(([n]) => n).sort(), names.sort());
  });

  for (const [name, args, check] of valid) {
    it(`${name.slice('gatehouse '.length)} --output json`, async () => {
      const run = await cli(...name.split(' ').slice(1), '--output', 'json', ...args());
      assert.equal(run.code, 0, run.stderr);
      check(JSON.parse(run.stdout));
      // only an initial access token needs oidc-provider itself; every other command runs on the lean context
      assert.equal(run.provider, name === 'gatehouse clients initial-token create');
    });
  }

  it('off a terminal without --output: JSON (audit: NDJSON); --output ndjson: one object a line', async () => {
    assert.ok(Array.isArray(JSON.parse((await cli('clients', 'list')).stdout)));
    const lines = (await cli('clients', 'list', '--output', 'ndjson')).stdout.trim().split('\n').map((l) => JSON.parse(l) as { client_id: string });
    assert.ok(lines.some((c) => c.client_id === 'json-job'));
    const events = (await cli('audit', '--type', 'admin.')).stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string });
    assert.ok(events.length > 1 && events.every((e) => e.type.startsWith('admin.')));
  });

  it('on a terminal: a table; a secret shown once is marked in it', async () => {
    const list = await cliInProcess(gh.context, ['clients', 'list'], { tty: true });
    assert.match(list.stdout, /^CLIENT_ID +CLIENT_NAME +TOKEN_ENDPOINT_AUTH_METHOD +GRANT_TYPES +SCOPE\n/);
    assert.match(list.stdout, /^json-job +JSON job +client_secret_basic +client_credentials +r$/m);
    const created = await cliInProcess(gh.context, ['clients', 'create', '--json', JSON.stringify({ redirect_uris: ['http://127.0.0.1:9/cb'] })], { tty: true });
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /^client_secret +[A-Za-z0-9_-]{43} {2}\(shown only now\)$/m);
    assert.match(created.stderr, /shown only now/);
  });

  describe('not found: exit 3', () => {
    const cases: [string, string[]][] = [
      ['users set-password, an unknown email', ['users', 'set-password', '--email', 'nobody@example.test', '--password', 'a long enough passphrase']],
      ['users roles, an unknown email', ['users', 'roles', '--email', 'nobody@example.test']],
      ...['show', 'disable', 'enable', 'unlock', 'reset-factors'].map((cmd): [string, string[]] => [`users ${cmd}, an unknown email`, ['users', cmd, '--email', 'nobody@example.test']]),
      ['users delete, an unknown id', ['users', 'delete', '--id', 'no-such-id', '--yes']],
      ['users set-email, an unknown email', ['users', 'set-email', '--email', 'nobody@example.test', '--new-email', 'x@example.test']],
      ['clients set-scope, an unknown client', ['clients', 'set-scope', '--client-id', 'no-such-client', '--scope', 'r']],
      ['clients update, an unknown client', ['clients', 'update', '--client-id', 'no-such-client', '--json', '{"client_name":"x"}']],
      ['clients delete, an unknown client', ['clients', 'delete', '--client-id', 'no-such-client', '--yes']],
      ['clients rotate-secret, an unknown client', ['clients', 'rotate-secret', '--client-id', 'no-such-client']],
      ['resources introspector, an unknown API', ['resources', 'introspector', '--identifier', 'https://nowhere.example.test', '--client-id', 'json-job']],
      ['resources introspector, an unknown client', ['resources', 'introspector', '--identifier', API, '--client-id', 'no-such-client']],
      ['keys revoke, an unknown kid', ['keys', 'revoke', 'no-such-kid']],
      ['audit, an unknown email', ['audit', '--account', 'nobody@example.test']],
      ['roles show, an unknown role', ['roles', 'show', '--name', 'no-such-role']],
      ['roles assign, an unknown email', ['roles', 'assign', '--name', 'ops', '--email', 'nobody@example.test']],
      ['resources update, an unknown API', ['resources', 'update', '--identifier', 'https://nowhere.example.test', '--no-token-claims']],
      ...['update', 'delete', 'test', 'deliveries'].map((cmd): [string, string[]] => [`webhooks ${cmd}, an unknown endpoint`, ['webhooks', cmd, 'ep_none']]),
      ['federation show, an unknown provider', ['federation', 'show', 'no-such-provider']],
      ['federation update, an unknown provider', ['federation', 'update', 'no-such-provider', '--protocol', 'oidc', '--settings', '{"name":"X"}']],
      ['federation delete, an unknown provider', ['federation', 'delete', 'no-such-provider', '--yes']],
      ['webhooks redeliver, an unknown delivery', ['webhooks', 'redeliver', 'ep_none', '--delivery', 'dlv_none']],
      ...['show', 'update --name X', 'delete --yes'].map((cmd): [string, string[]] => [`tenants ${cmd.split(' ')[0]}, an unknown tenant`, ['tenants', ...cmd.split(' ').slice(0, 1), '--id', 'no-such-tenant', ...cmd.split(' ').slice(1)]]),
    ];
    for (const [name, argv] of cases) {
      it(name, async () => {
        const run = await cli(...argv);
        assert.equal(run.code, 3, run.stderr);
        assert.match(run.stderr, /^gatehouse: no [^\n]+\n$/);
        assert.equal(run.stdout, '');
      });
    }
  });

  describe('conflict: exit 4', () => {
    const cases: [string, string[]][] = [
      ['users create, a taken email (any case)', ['users', 'create', '--email', EMAIL.toUpperCase(), '--password', 'a long enough passphrase']],
      ['clients create, a taken client_id', ['clients', 'create', '--json', JSON.stringify({ client_id: 'json-job', redirect_uris: ['http://127.0.0.1:9/cb'] })]],
      ['resources create, a taken identifier', ['resources', 'create', '--identifier', API, '--scope', 'r']],
      ['roles create, a taken name', ['roles', 'create', '--name', 'ops']],
      ['roles create, a built-in name', ['roles', 'create', '--name', 'gatehouse:admin']],
      ['federation create, an id of FEDERATION_FILE', ['federation', 'create', '--protocol', 'oauth2', '--settings', JSON.stringify({ id: 'octo', preset: 'github', clientId: 'x', clientSecret: 'y' })]],
      ['tenants create, the default tenant\'s id', ['tenants', 'create', '--id', 'default', '--name', 'Default']],
      ['users set-email, an address another account has (other letter case)', ['users', 'set-email', '--email', OTHER, '--new-email', EMAIL.toUpperCase()]],
    ];
    for (const [name, argv] of cases) {
      it(name, async () => {
        const run = await cli(...argv);
        assert.equal(run.code, 4, run.stderr);
        assert.match(run.stderr, /^gatehouse: [^\n]*already exists\n$/);
        assert.equal(run.stdout, '');
      });
    }
  });

  it('roles delete of a built-in role: exit 4, and it is still there; an assignment of an unknown role: exit 2', async () => {
    const run = await cli('roles', 'delete', '--name', 'gatehouse:admin', '--yes');
    assert.equal(run.code, 4, run.stderr);
    assert.match(run.stderr, /built-in role/);
    assert.ok(await gh.context.roles.find('gatehouse:admin'));
    const unknown = await cli('roles', 'assign', '--name', 'no-such-role', '--email', OTHER);
    assert.equal(unknown.code, 2, unknown.stderr);
    assert.match(unknown.stderr, /no role is named "no-such-role"/);
  });
});
