/**
 * A plain OAuth 2.0 provider in GitHub's style, for federation tests (node:http on 127.0.0.1): the
 * authorization endpoint approves `signInAs` at once (PKCE S256 required), the token endpoint takes
 * client_secret_post and answers JSON only with `Accept: application/json` (as GitHub does), GET /user
 * describes the person ({ id, login, name }) and GET /user/emails lists their addresses.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash, randomBytes } from 'node:crypto';

export type OAuth2User = { id: number; login: string; name: string; emails: { email: string; primary: boolean; verified: boolean }[]; /** an acr in the /user answer (GitHub sends none) */ acr?: string };

export type OAuth2Upstream = {
  origin: string;
  clientId: string;
  clientSecret: string;
  users: Map<number, OAuth2User>;
  signInAs: number | undefined;
  /** what each token request sent (to check PKCE and client authentication) */
  tokenRequests: URLSearchParams[];
  close(): Promise<void>;
};

export async function startOAuth2Upstream(o: {
  /** checks client_secret instead of comparing it (Sign in with Apple's ES256 JWT secret) */
  checkSecret?(secret: string): Promise<boolean>;
} = {}): Promise<OAuth2Upstream> {
  const codes = new Map<string, { user: number; challenge: string; redirectUri: string }>();
  const tokens = new Map<string, number>();
  const server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => send(res, 500, { error: err.message }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const state: OAuth2Upstream = {
    origin, clientId: `Iv1.${randomBytes(8).toString('hex')}`, clientSecret: randomBytes(20).toString('hex'),
    users: new Map(), signInAs: undefined, tokenRequests: [],
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? '/', origin);
    if (url.pathname === '/login/oauth/authorize') {
      const q = url.searchParams;
      const redirect = new URL(q.get('redirect_uri') ?? '');
      if (q.get('client_id') !== state.clientId || q.get('code_challenge_method') !== 'S256') return send(res, 400, { error: 'bad request' });
      if (state.signInAs === undefined) redirect.searchParams.set('error', 'access_denied');
      else {
        const code = randomBytes(10).toString('hex');
        codes.set(code, { user: state.signInAs, challenge: q.get('code_challenge') ?? '', redirectUri: redirect.href });
        redirect.searchParams.set('code', code);
      }
      redirect.searchParams.set('state', q.get('state') ?? '');
      res.writeHead(302, { location: redirect.href }).end();
      return;
    }
    if (url.pathname === '/login/oauth/access_token' && req.method === 'POST') {
      const form = new URLSearchParams(await body(req));
      state.tokenRequests.push(form);
      const grant = codes.get(form.get('code') ?? '');
      codes.delete(form.get('code') ?? '');
      const verifier = form.get('code_verifier') ?? '';
      const secretOk = o.checkSecret ? await o.checkSecret(form.get('client_secret') ?? '') : form.get('client_secret') === state.clientSecret;
      const ok = grant && form.get('client_id') === state.clientId && secretOk
        && createHash('sha256').update(verifier).digest('base64url') === grant.challenge && form.get('redirect_uri') === grant.redirectUri;
      if (!ok) return send(res, 200, { error: 'bad_verification_code' }); // GitHub answers errors with 200
      const token = `gho_${randomBytes(16).toString('hex')}`;
      tokens.set(token, grant.user);
      return send(res, 200, { access_token: token, token_type: 'bearer', scope: 'read:user,user:email' });
    }
    const user = tokens.get((req.headers.authorization ?? '').replace(/^Bearer /i, ''));
    const person = user !== undefined ? state.users.get(user) : undefined;
    if (url.pathname === '/user' || url.pathname === '/user/emails') {
      if (!req.headers['user-agent']) return send(res, 403, { message: 'User-Agent required' });
      if (!person) return send(res, 401, { message: 'Bad credentials' });
      return send(res, 200, url.pathname === '/user' ? { id: person.id, login: person.login, name: person.name, ...(person.acr ? { acr: person.acr } : {}) } : person.emails);
    }
    return send(res, 404, { message: 'Not Found' });
  }
  return state;
}

function body(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, status: number, json: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
}
