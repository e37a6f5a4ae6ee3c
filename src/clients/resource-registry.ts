/**
 * APIs (resource servers) that receive RFC 9068 JWT access tokens, named by resource indicators (RFC 8707).
 */
import type { ResourceRecord, ResourceStore, ResourceTokenClaim } from '../../adapters/contract.js';

export class InvalidResourceInput extends Error {}

/**
 * The longest access-token lifetime an API may have. Signing-key retirement (keys/rotation.ts) keeps a
 * retired key published for this long, so a longer lifetime would outlive its key in the JWKS.
 */
export const MAX_ACCESS_TOKEN_TTL_SECONDS = 86_400;

export const RESOURCE_TOKEN_CLAIMS: readonly ResourceTokenClaim[] = ['roles', 'permissions'];

function checkScopesAndTtl(input: { scopes: Record<string, string>; accessTokenTtl: number; tokenClaims: readonly string[] }): void {
  const badClaim = input.tokenClaims.find((c) => !(RESOURCE_TOKEN_CLAIMS as readonly string[]).includes(c));
  if (badClaim !== undefined) throw new InvalidResourceInput(`tokenClaims: ${JSON.stringify(badClaim)} is not one of ${RESOURCE_TOKEN_CLAIMS.join(', ')}`);
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
    /**
     * A new API takes its people's scopes from their roles unless `permissionsFromRoles: false` says
     * otherwise (then any person may get any scope the client may ask for, as before roles existed).
     */
    async create(input: {
      identifier: string; name?: string; scopes: Record<string, string>; accessTokenTtl: number;
      permissionsFromRoles?: boolean; tokenClaims?: ResourceTokenClaim[];
    }): Promise<ResourceRecord> {
      let url: URL;
      try {
        url = new URL(input.identifier);
      } catch {
        throw new InvalidResourceInput('identifier: expected an absolute URI');
      }
      // RFC 8707 §2: the resource indicator "MUST NOT include a fragment component"
      if (url.hash) throw new InvalidResourceInput('identifier: must not contain a fragment (RFC 8707 §2)');
      const tokenClaims = [...new Set(input.tokenClaims ?? [])];
      checkScopesAndTtl({ ...input, tokenClaims });
      const record: ResourceRecord = {
        identifier: input.identifier,
        name: input.name ?? url.host,
        scopes: input.scopes,
        accessTokenTtl: input.accessTokenTtl,
        permissionsFromRoles: input.permissionsFromRoles ?? true,
        tokenClaims,
        createdAt: Date.now(),
      };
      await resources.create(record);
      return record;
    },
    find: (identifier: string) => resources.find(identifier),
    /** Changes an API, checked as at creation; undefined when there is no such API. */
    async update(identifier: string, changes: Partial<Pick<ResourceRecord, 'name' | 'scopes' | 'accessTokenTtl' | 'permissionsFromRoles' | 'tokenClaims'>>): Promise<ResourceRecord | undefined> {
      const current = await resources.find(identifier);
      if (!current) return undefined;
      const next = { ...current, ...changes, tokenClaims: [...new Set(changes.tokenClaims ?? current.tokenClaims)] };
      checkScopesAndTtl(next);
      const { name, scopes, accessTokenTtl, permissionsFromRoles, tokenClaims } = next;
      if (!(await resources.update(identifier, { name, scopes, accessTokenTtl, permissionsFromRoles, tokenClaims }))) return undefined;
      return next;
    },
    list: () => resources.list(),
  };
}

export type ResourceRegistry = ReturnType<typeof createResourceRegistry>;
