/**
 * APIs (resource servers) that receive RFC 9068 JWT access tokens, named by resource indicators (RFC 8707).
 */
import type { ResourceRecord, ResourceStore } from '../../adapters/contract.js';

export class InvalidResourceInput extends Error {}

/**
 * The longest access-token lifetime an API may have. Signing-key retirement (keys/rotation.ts) keeps a
 * retired key published for this long, so a longer lifetime would outlive its key in the JWKS.
 */
export const MAX_ACCESS_TOKEN_TTL_SECONDS = 86_400;

function checkScopesAndTtl(input: { scopes: Record<string, string>; accessTokenTtl: number }): void {
  if (!Number.isInteger(input.accessTokenTtl) || input.accessTokenTtl < 1 || input.accessTokenTtl > MAX_ACCESS_TOKEN_TTL_SECONDS) {
    throw new InvalidResourceInput(`accessTokenTtl: expected whole seconds from 1 to ${MAX_ACCESS_TOKEN_TTL_SECONDS}`);
  }
  for (const scope of Object.keys(input.scopes)) {
    // RFC 6749 §3.3 scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
    if (!/^[\x21\x23-\x5B\x5D-\x7E]+$/.test(scope)) throw new InvalidResourceInput(`scopes: ${JSON.stringify(scope)} is not a valid scope token`);
  }
}

export function createResourceRegistry(deps: { resources: ResourceStore }) {
  const { resources } = deps;
  return {
    async create(input: { identifier: string; name?: string; scopes: Record<string, string>; accessTokenTtl: number }): Promise<ResourceRecord> {
      let url: URL;
      try {
        url = new URL(input.identifier);
      } catch {
        throw new InvalidResourceInput('identifier: expected an absolute URI');
      }
      // RFC 8707 §2: the resource indicator "MUST NOT include a fragment component"
      if (url.hash) throw new InvalidResourceInput('identifier: must not contain a fragment (RFC 8707 §2)');
      checkScopesAndTtl(input);
      const record: ResourceRecord = {
        identifier: input.identifier,
        name: input.name ?? url.host,
        scopes: input.scopes,
        accessTokenTtl: input.accessTokenTtl,
        createdAt: Date.now(),
      };
      await resources.create(record);
      return record;
    },
    find: (identifier: string) => resources.find(identifier),
    /** Changes an API's name, scopes or token lifetime, checked as at creation; undefined when there is no such API. */
    async update(identifier: string, changes: { name?: string; scopes?: Record<string, string>; accessTokenTtl?: number }): Promise<ResourceRecord | undefined> {
      const current = await resources.find(identifier);
      if (!current) return undefined;
      const next = { ...current, ...changes };
      checkScopesAndTtl(next);
      if (!(await resources.update(identifier, { name: next.name, scopes: next.scopes, accessTokenTtl: next.accessTokenTtl }))) return undefined;
      return next;
    },
    list: () => resources.list(),
  };
}

export type ResourceRegistry = ReturnType<typeof createResourceRegistry>;
