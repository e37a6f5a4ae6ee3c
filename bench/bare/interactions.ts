/**
 * The least a login + consent interaction needs on a bare oidc-provider, for the login-flow comparison:
 * a login form whose POST checks the password with bcrypt at the same cost as Gatehouse, and a consent
 * form that grants what the prompt reports missing (the pattern of oidc-provider's devInteractions).
 * No CSRF, no templates, no throttling: this is the floor, not a product.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import bcrypt from 'bcrypt';
import type { Provider } from 'oidc-provider';

type Account = { id: string; email: string; passwordHash: string };
type Missing = { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };

const ROUTE = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|consent))?$/;

export function createInteractionHandler(provider: Provider, account: Account) {
  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const match = ROUTE.exec(req.url ?? '');
    if (!match) return false;
    const [, uid, action] = match;
    const details = await provider.interactionDetails(req, res);
    if (details.uid !== uid) return send(res, 400, 'interaction mismatch');

    if (req.method === 'GET' && !action) {
      const form = details.prompt.name === 'login'
        ? `<form method="post" action="/interaction/${uid}/login"><input name="email"><input name="password" type="password"><button>Sign in</button></form>`
        : `<form method="post" action="/interaction/${uid}/consent"><button>Allow</button></form>`;
      return send(res, 200, `<!doctype html><title>${details.prompt.name}</title>${form}`);
    }
    if (req.method !== 'POST') return send(res, 405, 'method not allowed');

    if (action === 'login') {
      const form = new URLSearchParams(await readBody(req));
      const ok = form.get('email') === account.email && (await bcrypt.compare(form.get('password') ?? '', account.passwordHash));
      if (!ok) return send(res, 401, 'wrong email or password');
      await provider.interactionFinished(req, res, { login: { accountId: account.id } }, { mergeWithLastSubmission: false });
      return true;
    }

    await readBody(req);
    const missing = details.prompt.details as Missing;
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session?.accountId, clientId: String(details.params.client_id) });
    if (!grant) return send(res, 400, 'grant not found');
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: details.grantId ? {} : { grantId } }, { mergeWithLastSubmission: true });
    return true;
  };
}

function send(res: ServerResponse, status: number, html: string): true {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(html);
  return true;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
