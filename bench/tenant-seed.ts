/**
 * The records of the tenants study (tenants.ts), written straight through the store, before a server runs:
 *
 * - `seedTenants`: N tenants through `RootStore.tenants.create`, each with one signing key saved with
 *   `forTenant(id).signingKeys.save` in the shape keystore.ts `generateSigningKey` makes. A benchmark
 *   shortcut: an RSA key takes ~140 ms to find, 10,000 of them ~25 minutes, so the keys come from a small
 *   pool generated once, and tenants share them (each a record of its own, its private half encrypted
 *   again under KEY_ENCRYPTION_KEYS, same kid). Tenants made through the management API get real keys
 *   (the study times those too); isolation is tested in test/tenants/.
 * - `seedTenantClients`: in each of the first M tenants, the bench API (`https://api.bench.test`) and a
 *   client_credentials client, through the same registries the CLI and the API use (the secret stored
 *   encrypted). The first tenant's are made by the real CLI (`gatehouse --tenant <id> ...`), so
 *   oidc-provider validates that metadata; the copies in the other tenants skip the validator, which would
 *   otherwise load a provider for each of them.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import type { RootStore, SigningKeyRecord } from '../adapters/contract.js';
import { createAtRestCipher, type AtRestCipher } from '../src/keys/at-rest-cipher.js';
import { generateSigningKey } from '../src/keys/keystore.js';
import { tenantSettingsSchema } from '../src/tenants/tenant-settings.js';
import { buildRegistries } from '../src/app/build-clients.js';
import { API } from './bench-data.js';
import { CHILD_NODE_ARGS, codePath } from './code.js';

const run = promisify(execFile);
const CLI = codePath('src/cli.ts');

export type TenantClient = { tenant: string; clientId: string; clientSecret: string };

export const tenantId = (i: number) => `t${String(i).padStart(5, '0')}`;

export const cipherOf = (env: Record<string, string>): AtRestCipher => createAtRestCipher([Buffer.from(env.KEY_ENCRYPTION_KEYS!, 'base64')]);

/** Seeds `n` tenants (ids t00000, t00001, ...), each with a current signing key from a pool of `poolSize`. */
export async function seedTenants(store: RootStore, cipher: AtRestCipher, o: { n: number; poolSize: number }): Promise<{ seconds: number; poolSeconds: number }> {
  const p0 = performance.now();
  // on the thread pool (keystore.ts), so the pool's keys are found in parallel
  const pool = await Promise.all(Array.from({ length: o.poolSize }, () => generateSigningKey(cipher, 'current')));
  const plain = pool.map((k) => ({ record: k, jwk: cipher.decrypt(k.privateJwkCiphertext) }));
  const poolSeconds = (performance.now() - p0) / 1000;
  const started = performance.now();
  const settings = tenantSettingsSchema.parse({});
  let next = 0;
  // a few in flight (PostgreSQL's pool); SQLite's driver is synchronous anyway
  await Promise.all(Array.from({ length: 8 }, async () => {
    for (let i = next++; i < o.n; i = next++) {
      const id = tenantId(i);
      const now = Date.now();
      await store.tenants.create({ id, name: `Bench tenant ${i}`, host: null, settings, version: 1, createdAt: now, updatedAt: now });
      const { record, jwk } = plain[i % plain.length]!;
      const key: SigningKeyRecord = { ...record, privateJwkCiphertext: cipher.encrypt(jwk), createdAt: now, activatesAt: now, expiresAt: null };
      await store.forTenant(id).signingKeys.save(key);
    }
  }));
  return { seconds: (performance.now() - started) / 1000, poolSeconds };
}

const clientMetadata = (tenant: string) => ({
  client_name: `Bench service of ${tenant}`,
  grant_types: ['client_credentials'],
  // a client_credentials client gets only the API scopes it registers (src/clients/client-scope.ts)
  scope: API.scope,
  response_types: [],
  redirect_uris: [],
  token_endpoint_auth_method: 'client_secret_basic',
});

async function cli(env: Record<string, string>, args: string[]): Promise<unknown> {
  try {
    const { stdout } = await run(process.execPath, [...CHILD_NODE_ARGS, CLI, ...args], { env: { PATH: process.env.PATH ?? '', ...env } });
    return JSON.parse(stdout);
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`gatehouse ${args.slice(0, 4).join(' ')} failed: ${e.stderr ?? e.message}`);
  }
}

/** The first tenant's API and client, by the real CLI (oidc-provider validates the client's metadata). */
export async function cliTenantClient(env: Record<string, string>, tenant: string): Promise<TenantClient> {
  await cli(env, ['--tenant', tenant, 'resources', 'create', '--identifier', API.identifier, '--name', 'Bench API', '--scope', `${API.scope}=Read your things`, '--ttl', `${API.accessTokenTtl}s`]);
  const c = (await cli(env, ['--tenant', tenant, 'clients', 'create', '--json', JSON.stringify(clientMetadata(tenant))])) as { client_id: string; client_secret?: string };
  if (!c.client_secret) throw new Error('gatehouse clients create did not return a client_secret');
  return { tenant, clientId: c.client_id, clientSecret: c.client_secret };
}

/** The same API and client in each of `tenants`, through the registries on each tenant's store handle. */
export async function seedTenantClients(store: RootStore, cipher: AtRestCipher, tenants: string[]): Promise<TenantClient[]> {
  const out: TenantClient[] = [];
  for (const tenant of tenants) {
    // the metadata the CLI had oidc-provider validate in the first tenant
    const { clients, resources } = buildRegistries(store.forTenant(tenant), cipher, async () => {});
    await resources.create({ identifier: API.identifier, name: 'Bench API', scopes: { [API.scope]: 'Read your things' }, accessTokenTtl: API.accessTokenTtl });
    const secret = randomBytes(32).toString('base64url');
    const c = await clients.create({ ...clientMetadata(tenant), client_secret: secret });
    out.push({ tenant, clientId: c.client_id, clientSecret: secret });
  }
  return out;
}
