/**
 * Stored federation settings as documents: the federation file's format (config/federation), files
 * inline, as a tenant's settings.federation and the default tenant's API-written providers keep them.
 * One provider is one entry of `ldap`, `saml.idps` or `oidc.providers`; these functions add, replace and
 * remove one entry, leaving every other key as it was. They check nothing: the federation reader does,
 * on the whole document that results (identity-provider-admin.ts).
 */
export type ProviderProtocol = 'ldap' | 'saml' | 'oidc' | 'oauth2';
export type FederationDocument = Record<string, unknown>;
type Entry = Record<string, unknown>;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const entries = (v: unknown): Entry[] => (Array.isArray(v) ? (v as Entry[]) : []);

/** Where a protocol's entries are: `ldap`, `saml.idps`, `oidc.providers` (an oauth2 entry says `protocol: "oauth2"`). */
function listOf(doc: FederationDocument, protocol: ProviderProtocol): Entry[] {
  if (protocol === 'ldap') return entries(doc.ldap);
  const section = protocol === 'saml' ? doc.saml : doc.oidc;
  return entries(isObject(section) ? (protocol === 'saml' ? section.idps : section.providers) : undefined);
}

function withList(doc: FederationDocument, protocol: ProviderProtocol, list: Entry[]): FederationDocument {
  if (protocol === 'ldap') return { ...doc, ldap: list };
  const key = protocol === 'saml' ? 'saml' : 'oidc';
  const section = isObject(doc[key]) ? doc[key] : {};
  return { ...doc, [key]: { ...section, [protocol === 'saml' ? 'idps' : 'providers']: list } };
}

const protocolOf = (section: 'ldap' | 'saml' | 'oidc', e: Entry): ProviderProtocol => (section === 'oidc' ? (e.protocol === 'oauth2' ? 'oauth2' : 'oidc') : section);

/** Every entry with its id and protocol (entries without a string id are skipped: the reader refuses them). */
export function providerEntries(doc: FederationDocument): { id: string; protocol: ProviderProtocol; entry: Entry }[] {
  return (['ldap', 'saml', 'oidc'] as const).flatMap((section) => listOf(doc, section).flatMap((entry) =>
    (typeof entry?.id === 'string' ? [{ id: entry.id, protocol: protocolOf(section, entry), entry }] : [])));
}

/** The entry as stored: an oidc/oauth2 entry carries its protocol; an ldap or saml entry has none. */
export function entryOf(protocol: ProviderProtocol, body: Entry): Entry {
  const { protocol: _given, ...rest } = body;
  return protocol === 'oidc' || protocol === 'oauth2' ? { ...rest, protocol } : rest;
}

export function withEntry(doc: FederationDocument, protocol: ProviderProtocol, entry: Entry): FederationDocument {
  return withList(doc, protocol, [...listOf(doc, protocol), entry]);
}

/** The document without entry `id` (and without it in `ldapOrder`), then with `replacement` in its place when given. */
export function withoutEntry(doc: FederationDocument, id: string, replacement?: { protocol: ProviderProtocol; entry: Entry }): FederationDocument {
  const found = providerEntries(doc).find((p) => p.id === id);
  if (!found) return doc;
  const section = found.protocol === 'oauth2' ? 'oidc' : found.protocol;
  const list = listOf(doc, section);
  const at = list.indexOf(found.entry);
  const sameList = replacement && (replacement.protocol === 'oauth2' ? 'oidc' : replacement.protocol) === section;
  let next = withList(doc, section, sameList ? list.map((e, i) => (i === at ? replacement.entry : e)) : list.filter((_, i) => i !== at));
  if (replacement && !sameList) next = withEntry(next, replacement.protocol, replacement.entry);
  if (!replacement || replacement.protocol !== 'ldap') {
    if (Array.isArray(next.ldapOrder)) next = { ...next, ldapOrder: (next.ldapOrder as unknown[]).filter((o) => o !== id) };
  }
  return next;
}

/**
 * A directory written through the API is tried by the password form when no domain routes (ldapOrder):
 * after those already in the document's ldapOrder, in the order directories were created (a replaced one
 * keeps its place). A directory named only in a tenant's PATCHed settings keeps the file's meaning:
 * outside ldapOrder, it is reached by its domains only.
 */
export function withDirectoryOrdered(doc: FederationDocument, id: string): FederationDocument {
  const order = Array.isArray(doc.ldapOrder) ? (doc.ldapOrder as unknown[]) : [];
  return order.includes(id) ? doc : { ...doc, ldapOrder: [...order, id] };
}
