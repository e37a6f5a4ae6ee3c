/** Assertions that read like the specs. */
import assert from 'node:assert/strict';

/** RFC 6749 §5.2 error response: JSON body with `error`. */
export async function expectOAuthError(res: Response, error: string, status?: number): Promise<Record<string, unknown>> {
  const body = (await res.json()) as Record<string, unknown>;
  assert.equal(body.error, error, `expected ${error}, got ${JSON.stringify(body)}`);
  if (status !== undefined) assert.equal(res.status, status);
  else assert.ok(res.status >= 400 && res.status < 500, `expected a 4xx, got ${res.status}`);
  return body;
}

export function basicAuth(clientId: string, secret: string): string {
  // RFC 6749 §2.3.1: form-urlencode id and secret before base64
  const enc = (s: string) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${enc(clientId)}:${enc(secret)}`).toString('base64')}`;
}

export async function tokenRequest(issuer: string, params: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(params),
  });
}
