/**
 * Pairwise subject identifiers (OpenID Connect Core §8.1): a client registered with `subject_type: pairwise`
 * sees, for each person, a `sub` that no client of another sector sees. oidc-provider computes the sector
 * itself (the host of `sector_identifier_uri`, else the host of the one redirect_uri host; several hosts
 * without a sector_identifier_uri are invalid_client_metadata) and fetches and checks the sector document
 * through the configured outbound fetch; this function only derives the value.
 *
 * Core §8.1: "the Subject Identifier value MUST NOT be reversible by any party other than the OpenID Provider",
 * and it must be the same every time. HMAC-SHA256 keyed by PAIRWISE_SALT, which every replica shares, over a
 * domain-separated (sector, account id) pair: stable across sessions, processes and replicas, different across
 * sectors, and not linkable without the salt. Changing PAIRWISE_SALT changes every pairwise `sub`.
 * oidc-provider calls it with no request context for back-channel logout tokens, so `ctx` is never read.
 */
import { createHmac } from 'node:crypto';
import type { Client, Configuration } from 'oidc-provider';

/** oidc-provider's Client computes this (its types do not declare it) */
type WithSector = Client & { readonly sectorIdentifier?: string };

/** Outside production only (in production without PAIRWISE_SALT, provider.ts offers no pairwise subjects). */
export const DEV_PAIRWISE_SALT = 'gatehouse-development-pairwise-salt-do-not-use-in-production';

const DOMAIN = 'gatehouse pairwise sub v1';

export function createPairwiseIdentifier(salt: string): NonNullable<Configuration['pairwiseIdentifier']> {
  const key = salt === '' ? DEV_PAIRWISE_SALT : salt;
  return async (_ctx, accountId, client) => {
    const sector = (client as WithSector).sectorIdentifier;
    if (!sector) throw new TypeError('a pairwise client without a sector identifier');
    return createHmac('sha256', key).update(`${DOMAIN}\0${sector}\0${accountId}`).digest('base64url');
  };
}
