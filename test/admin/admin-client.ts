/**
 * A management client for the tests: registered with the scopes asked for, its token obtained with
 * client_credentials through openid-client, and every answer validated against the served OpenAPI
 * document (ajv, JSON Schema 2020-12) before the test sees it.
 */
import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { TestGatehouse } from '../helpers/gatehouse.js';

const insecure = { execute: [oidc.allowInsecureRequests] };

export async function managementToken(gh: TestGatehouse, scope: string, o: { resource?: string } = {}): Promise<string> {
  const c = await gh.context.clients.create({ grant_types: ['client_credentials'], response_types: [], redirect_uris: [], scope });
  const config = await oidc.discovery(new URL(gh.issuer), c.client_id, String(c.client_secret), undefined, insecure);
  const tokens = await oidc.clientCredentialsGrant(config, { resource: o.resource ?? 'urn:gatehouse:admin', scope });
  return tokens.access_token;
}

export type AdminAnswer = { status: number; headers: Headers; body: Record<string, unknown> };

type Validate = ((data: unknown) => boolean) & { errors?: unknown };

/** Calls /admin/v1 and checks the answer's body against the schema the served document gives it. */
/** `issuer`: another tenant's (its own management API at {issuer}/admin/v1); the default tenant's by default */
export function createAdminCaller(gh: Pick<TestGatehouse, 'issuer'>, issuer = gh.issuer) {
  let doc: Record<string, unknown> | undefined;
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  const cache = new Map<string, Validate>();

  async function document(): Promise<Record<string, unknown>> {
    if (!doc) doc = (await (await fetch(`${issuer}/admin/v1/openapi.json`)).json()) as Record<string, unknown>;
    return doc;
  }

  /** The operation in the document whose path template matches `path`. */
  function operation(d: Record<string, unknown>, method: string, path: string): Record<string, unknown> | undefined {
    const paths = d.paths as Record<string, Record<string, unknown>>;
    for (const [template, ops] of Object.entries(paths)) {
      const re = new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`);
      if (re.test(path) && ops[method]) return ops[method] as Record<string, unknown>;
    }
    return undefined;
  }

  async function validate(method: string, path: string, status: number, type: string, body: unknown): Promise<void> {
    const d = await document();
    const key = `${method} ${path.replace(/\?.*/, '')} ${status}`;
    let check = cache.get(key);
    if (!check) {
      const op = operation(d, method, path.replace(/\?.*/, ''));
      const problem = (d.components as { schemas: { Problem: object } }).schemas.Problem;
      const response = (op?.responses as Record<string, { content?: Record<string, { schema: object }> }> | undefined)?.[String(status)];
      // a status the route does not list (unknown route, 405) must still be a problem
      const schema = response?.content?.['application/json']?.schema ?? (status >= 400 ? problem : undefined);
      assert.ok(schema || status === 204, `the document describes ${key}`);
      check = (schema ? ajv.compile(JSON.parse(JSON.stringify(schema).replaceAll('#/components/schemas/Problem', '#')) as object) : () => body === undefined) as Validate;
      cache.set(key, check);
    }
    if (status >= 400) assert.match(type, /^application\/problem\+json/, `${key} is a problem`);
    assert.ok(check(body), `${key}: body does not match the OpenAPI document: ${JSON.stringify(check.errors)} in ${JSON.stringify(body)}`);
  }

  return async function call(method: string, path: string, o: { token?: string; body?: unknown; headers?: Record<string, string>; raw?: string } = {}): Promise<AdminAnswer> {
    const headers: Record<string, string> = { ...(o.token ? { authorization: `Bearer ${o.token}` } : {}), ...o.headers };
    if (o.body !== undefined || o.raw !== undefined) headers['content-type'] ??= 'application/json';
    const res = await fetch(`${issuer}/admin/v1${path}`, { method, headers, ...(o.body !== undefined ? { body: JSON.stringify(o.body) } : o.raw !== undefined ? { body: o.raw } : {}) });
    const text = await res.text();
    const body = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
    await validate(method.toLowerCase(), path, res.status, res.headers.get('content-type') ?? '', body);
    return { status: res.status, headers: res.headers, body: body ?? {} };
  };
}
