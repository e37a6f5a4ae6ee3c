/**
 * A bare oidc-provider as an upstream OpenID Provider for federation tests, configured unlike Gatehouse:
 * ES256 ID tokens, another claim layout (mail, mail_verified, display_name, member_of), claims in the ID
 * token, and optionally an issuer with a tenant path served multi-tenant style (Entra ID's
 * /common/v2.0 discovery document names the issuer http://host/{tenantid}/v2.0 and each token carries
 * `tid`). It signs in `signInAs` without a page (the test chooses who the upstream says it is), and the
 * test can make its token endpoint answer a tampered ID token (`tamper`), re-signed with its real key.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { Provider, type Configuration } from 'oidc-provider';
import { SignJWT, decodeJwt, decodeProtectedHeader } from 'jose';

export type UpstreamUser = {
  id: string;
  mail: string;
  mail_verified: boolean;
  display_name?: string;
  member_of?: string[];
  /** how the upstream says it authenticated the person */
  amr?: string[];
  /** the upstream's acr for the person's sign-in */
  acr?: string;
};

export type Tamper = (claims: Record<string, unknown>) => { claims?: Record<string, unknown>; key?: KeyObject; breakSignature?: boolean };

export type OidcUpstream = {
  issuer: string;
  /** what to put in the federation file's `issuer` (the /common/v2.0 form for a multi-tenant upstream) */
  discoveryIssuer: string;
  clientId: string;
  clientSecret: string;
  users: Map<string, UpstreamUser>;
  signInAs: string | undefined;
  tamper: Tamper | undefined;
  /** ID tokens the token endpoint answered, last first */
  idTokens: string[];
  endSessions: URL[];
  close(): Promise<void>;
};

export async function startOidcUpstream(o: {
  redirectUri: (issuer: string) => string;
  tenant?: string;
  /** the issuer's host name (a browser keeps cookies per host, not per port: use localhost beside Gatehouse's 127.0.0.1) */
  host?: 'localhost' | '127.0.0.1';
  /** the client authenticates with private_key_jwt, with this public key (a JWK) */
  clientJwk?: Record<string, unknown>;
}): Promise<OidcUpstream> {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const kid = randomUUID();
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://${o.host ?? '127.0.0.1'}:${(server.address() as AddressInfo).port}`;
  const path = o.tenant ? `/${o.tenant}/v2.0` : '';
  const issuer = `${origin}${path}`;
  const clientId = `upstream-client-${randomUUID().slice(0, 8)}`;
  const clientSecret = randomUUID();
  const state: OidcUpstream = {
    issuer, discoveryIssuer: o.tenant ? `${origin}/common/v2.0` : issuer, clientId, clientSecret,
    users: new Map(), signInAs: undefined, tamper: undefined, idTokens: [], endSessions: [],
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  const configuration: Configuration = {
    clients: [{
      client_id: clientId, client_secret: clientSecret, redirect_uris: [o.redirectUri(issuer)], response_types: ['code'],
      grant_types: ['authorization_code'], id_token_signed_response_alg: 'ES256',
      ...(o.clientJwk ? { token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [o.clientJwk as never] } } : { token_endpoint_auth_method: 'client_secret_basic' }),
      post_logout_redirect_uris: [o.redirectUri(issuer).replace(/\/callback$/, '/logged-out')],
    }],
    jwks: { keys: [{ ...(privateKey.export({ format: 'jwk' }) as object), kid, alg: 'ES256', use: 'sig' } as never] },
    findAccount: async (_ctx, sub) => {
      const user = state.users.get(sub);
      if (!user) return undefined;
      return {
        accountId: sub,
        claims: async () => ({
          sub, mail: user.mail, mail_verified: user.mail_verified, display_name: user.display_name, member_of: user.member_of ?? [],
          ...(o.tenant ? { tid: o.tenant } : {}),
        }),
      };
    },
    claims: { openid: ['sub', 'acr', 'amr', ...(o.tenant ? ['tid'] : [])], email: ['mail', 'mail_verified'], profile: ['display_name'], groups: ['member_of'] },
    scopes: ['openid', 'email', 'profile', 'groups'],
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    clientAuthMethods: ['client_secret_basic', 'private_key_jwt'],
    features: { devInteractions: { enabled: false }, rpInitiatedLogout: { enabled: true, logoutSource: async (ctx, form) => {
      ctx.body = `<!doctype html><html><body>${form}<script>document.forms[0].submit()</script></body></html>`;
    } } },
    interactions: { url: (_ctx, interaction) => `${path}/interaction/${interaction.uid}` },
    cookies: { keys: ['upstream-test-cookie-key'] },
  };
  const provider = new Provider(issuer, configuration);
  const callback = provider.callback();

  async function interaction(req: IncomingMessage, res: ServerResponse) {
    const details = await provider.interactionDetails(req, res);
    const accountId = state.signInAs;
    if (!accountId) {
      await provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'nobody signs in upstream' }, { mergeWithLastSubmission: false });
      return;
    }
    const grant = new provider.Grant({ accountId, clientId: String(details.params.client_id) });
    grant.addOIDCScope(String(details.params.scope));
    const grantId = await grant.save();
    const { amr, acr } = state.users.get(accountId) ?? {};
    await provider.interactionFinished(req, res, { login: { accountId, ...(amr ? { amr } : {}), ...(acr ? { acr } : {}) }, consent: { grantId } }, { mergeWithLastSubmission: false });
  }

  /** The token endpoint's answer, with the ID token the test asked for. */
  function tampering(res: ServerResponse) {
    const end = res.end.bind(res);
    res.end = ((chunk?: unknown, ...rest: unknown[]) => {
      void (async () => {
        let body = chunk;
        try {
          const json = JSON.parse(String(chunk)) as Record<string, unknown>;
          if (typeof json.id_token === 'string') {
            if (state.tamper) json.id_token = await retoken(json.id_token, state.tamper);
            state.idTokens.unshift(json.id_token as string);
          }
          body = JSON.stringify(json);
          res.setHeader('content-length', Buffer.byteLength(body as string));
        } catch {
          // not JSON: as it was
        }
        (end as (...a: unknown[]) => void)(body, ...rest);
      })();
      return res;
    }) as typeof res.end;
  }

  async function retoken(idToken: string, tamper: Tamper): Promise<string> {
    const claims = decodeJwt(idToken) as Record<string, unknown>;
    const header = decodeProtectedHeader(idToken);
    const change = tamper(claims);
    const signed = await new SignJWT(change.claims ?? claims).setProtectedHeader({ alg: 'ES256', kid: header.kid ?? kid }).sign(change.key ?? privateKey);
    if (!change.breakSignature) return signed;
    const [h, p, s] = signed.split('.') as [string, string, string];
    const flipped = s.slice(0, 10) + (s[10] === 'A' ? 'B' : 'A') + s.slice(11);
    return `${h}.${p}.${flipped}`;
  }

  server.on('request', (req: IncomingMessage & { originalUrl?: string }, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', origin);
    if (o.tenant && url.pathname === '/common/v2.0/.well-known/openid-configuration') {
      // Entra ID's multi-tenant document: the issuer is a template, every endpoint is the tenant's
      void fetch(`${issuer}/.well-known/openid-configuration`).then(async (r) => {
        const doc = (await r.json()) as Record<string, unknown>;
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ...doc, issuer: `${origin}/{tenantid}/v2.0` }));
      });
      return;
    }
    if (!url.pathname.startsWith(`${path}/`) && url.pathname !== path) {
      res.writeHead(404).end();
      return;
    }
    // mounted at the issuer's path (oidc-provider reads the mount point from originalUrl)
    req.originalUrl = req.url;
    req.url = req.url!.slice(path.length) || '/';
    if (url.pathname === `${path}/session/end`) state.endSessions.push(url);
    if (url.pathname.startsWith(`${path}/interaction/`)) {
      interaction(req, res).catch((err: Error) => res.writeHead(500).end(err.message));
      return;
    }
    if (req.method === 'POST' && url.pathname === `${path}/token`) tampering(res);
    void callback(req, res);
  });
  return state;
}
