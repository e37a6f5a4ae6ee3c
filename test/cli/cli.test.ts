/**
 * The operator's CLI (`src/cli.ts`, commands in src/cli/) on the same DATABASE_URL as a running server: what it
 * creates, the server serves at once; secrets are shown once and stored encrypted; bad input is exit code 2
 * and starts with one `gatehouse: ...` line (commander adds a "did you mean" line where one fits).
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import * as oidc from 'openid-client';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { bootGatehouse, TEST_ENCRYPTION_KEY, type TestGatehouse } from '../helpers/gatehouse.js';
import { UserAgent, signIn } from '../helpers/user-agent.js';
import { runCli, type CliRun } from '../helpers/run-cli.js';

const REDIRECT_URI = 'http://127.0.0.1:9/callback';

describe('the gatehouse CLI on a running server’s store', () => {
  let gh: TestGatehouse;
  let databaseUrl: string;

  /** `gatehouse ...args` with the server's store and key-encryption key. */
  const cli = (...args: string[]): Promise<CliRun> =>
    runCli({ DATABASE_URL: databaseUrl, KEY_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEY, ISSUER: gh.issuer }, ...args);

  before(async () => {
    gh = await bootGatehouse();
    databaseUrl = `sqlite:${join(gh.dataDir, 'gatehouse.db')}`;
  });
  after(() => gh.close());

  it('users create: the server signs the new person in', async () => {
    const run = await cli('users', 'create', '--email', 'Alan@Example.test', '--password', 'on computable numbers', '--name', 'Alan Turing', '--verified');
    assert.equal(run.code, 0, run.stderr);
    const created = JSON.parse(run.stdout) as Record<string, unknown>;
    assert.equal(created.email, 'alan@example.test', 'emails are stored lower-cased');
    assert.equal(created.email_verified, true);
    assert.ok(!run.stdout.includes('on computable numbers'), 'the password is not printed');

    const client = await gh.context.clients.create({ redirect_uris: [REDIRECT_URI] });
    const rp = await oidc.discovery(new URL(gh.issuer), client.client_id, String(client.client_secret), undefined, { execute: [oidc.allowInsecureRequests] });
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(rp, { redirect_uri: REDIRECT_URI, scope: 'openid profile', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
    const callback = await signIn(new UserAgent(), url.href, REDIRECT_URI, { email: 'alan@example.test', password: 'on computable numbers' });
    const tokens = await oidc.authorizationCodeGrant(rp, new URL(callback), { pkceCodeVerifier: verifier });
    assert.equal(tokens.claims()!.sub, created.id);
    assert.equal(tokens.claims()!.name, 'Alan Turing');
  });

  it('clients create prints the secret once and stores it only encrypted; resources create and clients list; the server serves both', async () => {
    const resource = await cli('resources', 'create', '--identifier', 'https://ledger.example.test', '--name', 'Ledger', '--scope', 'entries:read=Read ledger entries', '--scope', 'entries:write=Write ledger entries', '--ttl', '5m');
    assert.equal(resource.code, 0, resource.stderr);
    assert.equal((JSON.parse(resource.stdout) as { accessTokenTtl: number }).accessTokenTtl, 300);

    const created = await cli('clients', 'create', '--json', JSON.stringify({ client_name: 'Ledger sync', grant_types: ['client_credentials'], response_types: [], redirect_uris: [], scope: 'entries:read' }));
    assert.equal(created.code, 0, created.stderr);
    const client = JSON.parse(created.stdout) as { client_id: string; client_secret: string };
    assert.match(client.client_secret, /^[A-Za-z0-9_-]{43}$/, '256 random bits');
    assert.deepEqual((JSON.parse(created.stdout) as { shown_once: string[] }).shown_once, ['client_secret'], 'JSON marks the secret shown only now');
    assert.deepEqual(created.lines, ['The client_secret is shown only now; it is stored encrypted.']);

    // the stored row: no plaintext secret anywhere in it
    const db = new Database(join(gh.dataDir, 'gatehouse.db'), { readonly: true });
    try {
      const row = db.prepare('SELECT * FROM clients WHERE client_id = ?').get(client.client_id) as Record<string, unknown>;
      assert.ok(row, 'the client is stored');
      assert.ok(!JSON.stringify(row).includes(client.client_secret));
      assert.ok(!('client_secret' in (JSON.parse(String(row.metadata)) as object)));
      assert.match(String(row.secret_ciphertext), /^v1\./);
    } finally {
      db.close();
    }

    const listed = await cli('clients', 'list');
    assert.equal(listed.code, 0, listed.stderr);
    const clients = JSON.parse(listed.stdout) as { client_id: string; client_name: string }[];
    assert.ok(clients.some((c) => c.client_id === client.client_id && c.client_name === 'Ledger sync'));
    assert.ok(!listed.stdout.includes(client.client_secret), 'list never shows secrets');

    // the running server authenticates the client with that secret and knows the resource
    const rp = await oidc.discovery(new URL(gh.issuer), client.client_id, client.client_secret, undefined, { execute: [oidc.allowInsecureRequests] });
    const tokens = await oidc.clientCredentialsGrant(rp, { resource: 'https://ledger.example.test', scope: 'entries:read' });
    const { payload } = await jwtVerify(tokens.access_token, createRemoteJWKSet(new URL(`${gh.issuer}/jwks`)), { issuer: gh.issuer, audience: 'https://ledger.example.test' });
    assert.equal(payload.scope, 'entries:read');
    assert.equal((payload.exp as number) - (payload.iat as number), 300);
  });

  it('keys list shows the key the server publishes', async () => {
    const run = await cli('keys', 'list');
    assert.equal(run.code, 0, run.stderr);
    const keys = JSON.parse(run.stdout) as { kid: string; alg: string; state: string }[];
    const published = ((await (await fetch(`${gh.issuer}/jwks`)).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
    const current = keys.filter((k) => k.state === 'current');
    assert.equal(current.length, 1);
    assert.equal(current[0]!.alg, 'RS256');
    assert.ok(published.includes(current[0]!.kid));
    assert.ok(!run.stdout.includes('"d"') && !run.stdout.includes('private'), 'no private key material');
  });

  describe('bad input: exit code 2 and a gatehouse: line', () => {
    const cases: [string, string[], RegExp][] = [
      ['an unknown command', ['users', 'obliterate'], /^gatehouse: unknown command 'obliterate'/],
      ['users delete without --yes', ['users', 'delete', '--email', 'x@example.test'], /^gatehouse: deleting an account cannot be undone: add --yes to confirm/],
      ['users disable with neither --email nor --id', ['users', 'disable'], /^gatehouse: required option '--email <email>' or '--id <id>' not specified/],
      ['no command at all', [], /^Usage: gatehouse /],
      ['a missing --password', ['users', 'create', '--email', 'x@example.test'], /^gatehouse: required option '--password <password>' not specified/],
      ['a bad email', ['users', 'create', '--email', 'not-an-email', '--password', 'long enough password'], /email: expected an email address/],
      ['a short password', ['users', 'create', '--email', 'short@example.test', '--password', 'short'], /password: Use at least 12 characters/],
      ['an unknown option', ['clients', 'list', '--all'], /^gatehouse: unknown option '--all'/],
      ['--json that is not JSON', ['clients', 'create', '--json', '{client_name:'], /--json must be a JSON object/],
      ['client metadata the provider refuses', ['clients', 'create', '--json', JSON.stringify({ redirect_uris: ['http://127.0.0.1:9/cb#fragment'] })], /redirect_uris/],
      ['a client scope that is not a scope token', ['clients', 'create', '--json', JSON.stringify({ redirect_uris: ['http://127.0.0.1:9/cb'], scope: 'read "quoted"' })], /scope: .* is not a valid scope token/],
      ['a resource identifier with a fragment', ['resources', 'create', '--identifier', 'https://api.example.test/#x', '--scope', 'read'], /must not contain a fragment/],
      ['a bad --ttl', ['resources', 'create', '--identifier', 'https://ttl.example.test', '--scope', 'read', '--ttl', 'forever'], /^gatehouse: option '--ttl <duration>' argument 'forever' is invalid\. expected a duration/],
    ];
    // three at a time: the machine has two cores, and each run is a whole Node process
    const runs = new Map<string, Promise<CliRun>>();
    before(() => {
      let slot: Promise<unknown>[] = [Promise.resolve(), Promise.resolve(), Promise.resolve()];
      cases.forEach(([name, args], i) => {
        const run = slot[i % 3]!.then(() => cli(...args));
        runs.set(name, run);
        slot[i % 3] = run;
      });
      slot = [];
    });
    for (const [name, args, expected] of cases) {
      it(name, async () => {
        const run = await runs.get(name)!;
        assert.equal(run.code, 2, run.stderr);
        assert.match(run.lines[0] ?? '', expected);
        // the domain's refusals are one line; commander's may add a suggestion, and no command prints the help
        if (args.length > 0 && !/unknown|required option/.test(String(expected))) assert.equal(run.lines.length, 1, run.stderr);
        assert.equal(run.stdout, '');
      });
    }

    it('an email that is taken: a conflict, exit 4', async () => {
      await gh.context.accounts.create({ email: 'taken@example.test', password: 'a password of length' });
      const run = await cli('users', 'create', '--email', 'Taken@example.test', '--password', 'another long password');
      assert.equal(run.code, 4, run.stderr);
      assert.deepEqual(run.lines, ['gatehouse: account already exists']);
    });
  });

  it('--tenant: a command runs inside that tenant only; an unknown tenant exits 3; tenants are managed from the default tenant', async () => {
    assert.equal((await cli('tenants', 'create', '--id', 'cli-acme', '--name', 'Acme')).code, 0);
    const email = 'same.person@example.test';
    const inTenant = await cli('--tenant', 'cli-acme', 'users', 'create', '--email', email, '--password', 'a passphrase of the tenant');
    assert.equal(inTenant.code, 0, inTenant.stderr);
    // the same email in the default tenant is another account, not a conflict
    assert.equal((await cli('users', 'create', '--email', email.toUpperCase(), '--password', 'a passphrase of the default')).code, 0);
    const listed = (run: CliRun) => (JSON.parse(run.stdout) as { id: string; email: string }[]).filter((u) => u.email === email).map((u) => u.id);
    const [acme, byDefault] = [listed(await cli('users', 'list', '--tenant', 'cli-acme')), listed(await cli('users', 'list'))];
    assert.equal(acme.length, 1);
    assert.equal(byDefault.length, 1);
    assert.notEqual(acme[0], byDefault[0]);
    assert.equal((JSON.parse(inTenant.stdout) as { id: string }).id, acme[0]);
    // the tenant's account is not reachable from the default tenant by its id
    assert.equal((await cli('users', 'show', '--id', acme[0]!)).code, 3);

    const unknown = await cli('--tenant', 'no-such-tenant', 'users', 'list');
    assert.equal(unknown.code, 3, unknown.stderr);
    assert.equal(unknown.stdout, '');
    assert.equal((await cli('--tenant', 'cli-acme', 'tenants', 'list')).code, 2);
  });
});
