/** The records both servers hold: one API, one person, a confidential service client and a public SPA client. */
import { randomBytes } from 'node:crypto';

export const API = { identifier: 'https://api.bench.test', scope: 'read:things', accessTokenTtl: 3600 };

export const USER = { email: 'bench@example.test', password: 'correct horse battery staple', name: 'Bench Person' };

/** client_credentials for the API, and the caller of the introspection endpoint */
export const SERVICE_CLIENT_ID = 'bench-service';

/** a public client (PKCE, no secret) that signs people in and refreshes (with rotation) */
export const SPA = { clientId: 'bench-spa', redirectUri: 'http://127.0.0.1:9/callback' };

/** The scopes a sign-in asks for: an ID token, a refresh token (offline_access) and the API scope. */
export const LOGIN_SCOPE = `openid profile email offline_access ${API.scope}`;

export const randomSecret = (bytes = 32) => randomBytes(bytes).toString('base64url');

/**
 * The environment every bench starts a Gatehouse server with: production mode on plain http at 127.0.0.1
 * (ALLOW_INSECURE), fresh at-rest and cookie keys, warnings only; `store` holds DATABASE_URL (and
 * REDIS_URL), `extra` a study's own settings (PORT, BCRYPT_COST, WORKERS, ...).
 */
export function benchServerEnv(issuer: string, store: Record<string, string>, extra: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'production', ALLOW_INSECURE: 'true', HOST: '127.0.0.1', ISSUER: issuer, ...store,
    KEY_ENCRYPTION_KEYS: randomBytes(32).toString('base64'), COOKIE_KEYS: randomSecret(32), LOG_LEVEL: 'warn', ...extra,
  };
}
