/**
 * Creates Gatehouse's records through its real CLI (`gatehouse resources|users|roles|clients`), on the
 * same DATABASE_URL and settings the server will start with. Returns the service client's secret, which
 * the CLI shows once.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { API, LOGIN_SCOPE, SERVICE_CLIENT_ID, SPA, USER } from './bench-data.js';
import { CHILD_NODE_ARGS, codePath } from './code.js';

const run = promisify(execFile);
const CLI = codePath('src/cli.ts');

async function cli(env: Record<string, string>, args: string[]): Promise<unknown> {
  try {
    const { stdout } = await run(process.execPath, [...CHILD_NODE_ARGS, CLI, ...args], { env: { PATH: process.env.PATH ?? '', ...env } });
    return JSON.parse(stdout);
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`gatehouse ${args.slice(0, 2).join(' ')} failed: ${e.stderr ?? e.message}`);
  }
}

export async function createGatehouseRecords(env: Record<string, string>): Promise<{ serviceSecret: string }> {
  await cli(env, ['resources', 'create', '--identifier', API.identifier, '--name', 'Bench API', '--scope', `${API.scope}=Read your things`, '--ttl', `${API.accessTokenTtl}s`]);
  await cli(env, ['users', 'create', '--email', USER.email, '--password', USER.password, '--name', USER.name, '--verified']);
  // the API takes people's scopes from their roles (issue 14): the bench user holds a role granting it,
  // so every code exchange and refresh pays the role evaluation
  await cli(env, ['roles', 'create', '--name', 'bench-reader', '--permission', `${API.identifier}=${API.scope}`]);
  await cli(env, ['roles', 'assign', '--name', 'bench-reader', '--email', USER.email]);
  const service = (await cli(env, ['clients', 'create', '--json', JSON.stringify({
    client_id: SERVICE_CLIENT_ID,
    client_name: 'Bench service',
    // and signs people in itself: the opaque tokens it introspects are its own (bench/scenarios.ts)
    grant_types: ['client_credentials', 'authorization_code'],
    // a client_credentials client gets only the API scopes it registers (src/clients/client-scope.ts)
    scope: `openid ${API.scope}`,
    response_types: ['code'],
    redirect_uris: [SPA.redirectUri],
    token_endpoint_auth_method: 'client_secret_basic',
  })])) as { client_secret?: string };
  await cli(env, ['clients', 'create', '--json', JSON.stringify({
    client_id: SPA.clientId,
    client_name: 'Bench SPA',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: [SPA.redirectUri],
    // the same scopes the bare provider's SPA may ask for: without them the API scope was dropped
    scope: LOGIN_SCOPE,
    token_endpoint_auth_method: 'none',
  })]);
  if (!service.client_secret) throw new Error('gatehouse clients create did not return a client_secret');
  return { serviceSecret: service.client_secret };
}
