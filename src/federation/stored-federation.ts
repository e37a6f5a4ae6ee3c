/**
 * The default tenant's providers written through the management API or the CLI. The default tenant has
 * no registry row (a tenant's providers are in its row's settings.federation), so they are one record of
 * its SettingsStore (adapters/contract.ts), named `federation`: the federation file's format, files
 * inline, sealed with the at-rest cipher like a tenant's (they hold client secrets, bind passwords and
 * private keys), and versioned, so a write names the version it replaces and replicas see a change by
 * reading one number. At run time they are served together with FEDERATION_FILE's (mergeFederation).
 */
import type { SettingsStore } from '../../adapters/contract.js';
import type { FederationConfig } from '../config/federation/federation-file.js';
import type { FederationDocument } from './provider-entries.js';
import type { FederationDocumentStore } from './identity-provider-admin.js';

export const FEDERATION_SETTINGS = 'federation';

export function storedFederation(d: {
  settings: Pick<SettingsStore, 'find' | 'save'>;
  cipher: { encrypt(plain: string): string; decrypt(sealed: string): string };
  /** refuses what cannot work here (group mappings naming roles that do not exist): InvalidProviderInput */
  check?(document: FederationDocument): Promise<void>;
  now?: () => number;
}): FederationDocumentStore & { version(): Promise<number> } {
  const now = d.now ?? Date.now;
  return {
    async load() {
      const record = await d.settings.find(FEDERATION_SETTINGS);
      return record ? { document: JSON.parse(d.cipher.decrypt(record.value)) as FederationDocument, version: record.version } : { document: {}, version: 0 };
    },
    async save(document, version) {
      await d.check?.(document);
      return (await d.settings.save(FEDERATION_SETTINGS, d.cipher.encrypt(JSON.stringify(document)), version, now())) !== undefined;
    },
    version: async () => (await d.settings.find(FEDERATION_SETTINGS))?.version ?? 0,
  };
}

/**
 * FEDERATION_FILE's providers and the stored ones, as one configuration. The file's settings (SAML
 * timings, the OIDC state lifetime) hold; the API refuses a stored id or domain that the file has, and
 * should the file later take one, the file's provider wins and the stored one is left out (`skipped`
 * names it, for a log line). ldapOrder, the order in which the password form tries directories when no
 * domain routes: the file's, then every stored directory (all were written through the API or the CLI)
 * in the order they were created (provider-entries.ts withDirectoryOrdered), so a directory created at
 * run time is reached without a domain too, after the file's.
 */
export function mergeFederation(file: FederationConfig | null, stored: FederationConfig | null): { config: FederationConfig | null; skipped: string[] } {
  if (!stored) return { config: file, skipped: [] };
  if (!file) return { config: { ...stored, ldapOrder: storedOrder(stored, stored.ldap) }, skipped: [] };
  const taken = new Set([...file.ldap, ...file.saml.idps, ...file.oidc.providers].map((p) => p.id));
  const skipped: string[] = [];
  const keep = <P extends { id: string; domains: string[]; emailDomains: string[] }>(list: P[]) => list.filter((p) => {
    const clash = taken.has(p.id) || [...p.domains, ...p.emailDomains].some((domain) => file.domainOwners.has(domain));
    if (clash) skipped.push(p.id);
    return !clash;
  });
  const ldap = keep(stored.ldap);
  const idps = keep(stored.saml.idps);
  const providers = keep(stored.oidc.providers);
  const owners = new Map(file.domainOwners);
  for (const p of [...ldap, ...idps, ...providers]) for (const domain of [...p.domains, ...p.emailDomains]) owners.set(domain, p.id);
  return {
    config: {
      ...file,
      ldap: [...file.ldap, ...ldap],
      ldapOrder: [...file.ldapOrder, ...storedOrder(stored, ldap)],
      saml: { ...file.saml, idps: [...file.saml.idps, ...idps] },
      oidc: { ...file.oidc, providers: [...file.oidc.providers, ...providers] },
      domainOwners: owners,
    },
    skipped,
  };
}

/** The stored directories `kept`, in the stored ldapOrder, then those it lacks (stored before it was kept) in document order. */
function storedOrder(stored: FederationConfig, kept: FederationConfig['ldap']): string[] {
  const ids = new Set(kept.map((d) => d.id));
  const ordered = stored.ldapOrder.filter((id) => ids.has(id));
  return [...ordered, ...kept.map((d) => d.id).filter((id) => !ordered.includes(id))];
}

/**
 * The stored providers sealed again under the cipher's current key (`gatehouse keys reencrypt`): 'none'
 * when there are none, 'current' when they already are, 'changed' when written meanwhile (run it again).
 */
export async function resealStoredFederation(
  settings: Pick<SettingsStore, 'find' | 'save'>,
  cipher: { isCurrent(c: string): boolean; decrypt(c: string): string; encrypt(p: string): string },
  now: () => number = Date.now,
): Promise<'none' | 'current' | 'reencrypted' | 'changed'> {
  const record = await settings.find(FEDERATION_SETTINGS);
  if (!record) return 'none';
  if (cipher.isCurrent(record.value)) return 'current';
  const saved = await settings.save(FEDERATION_SETTINGS, cipher.encrypt(cipher.decrypt(record.value)), record.version, now());
  return saved ? 'reencrypted' : 'changed';
}
