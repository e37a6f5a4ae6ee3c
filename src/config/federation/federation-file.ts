/**
 * FEDERATION_FILE: the JSON file that configures upstream federation (LDAP directories and SAML IdPs).
 * Read and checked at start-up; any problem is one line naming the key, the value and what is accepted.
 * The format is documented in the README ("Upstream federation").
 */
import { readFileSync } from 'node:fs';
import { SettingValueError, type Parser } from '../parsers.js';
import { FederationFileError, PROVIDER_ID, Section, type FileMode } from './checks.js';
import { readLdapDirectory, type LdapDirectoryConfig } from './ldap-config.js';
import { readSamlSettings, type SamlSettings } from './saml-config.js';
import { readOidcSettings, type OidcSettings } from './oidc-config.js';

export type FederationConfig = {
  file: string;
  ldap: LdapDirectoryConfig[];
  /** directory ids tried, in this order, for logins that no domain claims (after local accounts) */
  ldapOrder: string[];
  saml: SamlSettings;
  /** upstream OpenID Connect and OAuth 2.0 providers (oidc-config.ts) */
  oidc: OidcSettings;
  /** email domain → the id of the provider that owns it (its `domains` and `emailDomains`) */
  domainOwners: Map<string, string>;
};

const ACCEPTED = 'the path of a JSON federation file as described in the README, or empty';

export const federationFile: Parser<FederationConfig | null> = {
  accepted: ACCEPTED,
  parse(raw) {
    const path = raw.trim();
    if (path === '') return null;
    try {
      return readFederationFile(path);
    } catch (err) {
      if (err instanceof FederationFileError) throw new SettingValueError(`a valid federation file; ${err.message}`);
      throw err;
    }
  },
};

export function readFederationFile(path: string): FederationConfig {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new FederationFileError('(file)', JSON.stringify(path), `a readable JSON file (${(err as Error).message})`);
  }
  return readFederationSettings(parsed, { source: path, files: 'read' });
}

/**
 * The same settings from JSON already parsed: the federation file's, or a tenant's stored ones (`source`
 * names them in messages; `files: 'inline'`, checks.ts: FileMode).
 */
export function readFederationSettings(parsed: unknown, o: { source: string; files: FileMode }): FederationConfig {
  const path = o.source;
  const root = Section.of('', parsed, o.files);
  const ldap = root.list('ldap', { optional: true }).map(readLdapDirectory);
  const ldapOrder = root.stringList('ldapOrder', { optional: true, pattern: PROVIDER_ID, accepted: 'a list of directory ids', item: 'a directory id' });
  const samlSection = root.section('saml');
  const saml = samlSection ? readSamlSettings(samlSection) : { clockSkewSeconds: 60, requestTtlSeconds: 600, acsRequestsPerMinute: 60, idps: [] };
  const oidcSection = root.section('oidc');
  const oidc = oidcSection ? readOidcSettings(oidcSection) : { stateTtlSeconds: 600, providers: [] };
  root.done();

  // Provider ids name links in the store and appear in URLs; a domain can only have one home.
  const owners = new Map<string, string>();
  const ids = new Set<string>();
  const providers = [...ldap.map((p, i) => ({ p, at: `ldap[${i}]` })), ...saml.idps.map((p, i) => ({ p, at: `saml.idps[${i}]` })), ...oidc.providers.map((p, i) => ({ p, at: `oidc.providers[${i}]` }))];
  for (const { p, at } of providers) {
    if (ids.has(p.id)) throw new FederationFileError(`${at}.id`, JSON.stringify(p.id), 'an id no other directory or IdP uses');
    ids.add(p.id);
    // an email domain has one owner: the only provider that may assert (and verify) addresses in it
    for (const [key, list] of [['domains', p.domains], ['emailDomains', p.emailDomains]] as const) {
      for (const domain of list) {
        const owner = owners.get(domain);
        if (owner && owner !== p.id) throw new FederationFileError(`${at}.${key}`, JSON.stringify(domain), `a domain no other provider claims (${owner} has it)`);
        owners.set(domain, p.id);
      }
    }
  }
  ldapOrder.forEach((id, i) => {
    if (!ldap.some((d) => d.id === id)) throw new FederationFileError(`ldapOrder[${i}]`, JSON.stringify(id), `the id of a directory in "ldap" (${ldap.map((d) => d.id).join(', ') || 'none configured'})`);
  });
  return { file: path, ldap, ldapOrder, saml, oidc, domainOwners: owners };
}
