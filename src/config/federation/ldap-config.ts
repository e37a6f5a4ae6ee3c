/** The `ldap` section of the federation file: one entry per directory. */
import type { ConnectionOptions } from 'node:tls';
import { Section } from './checks.js';
import { readProviderCommon, type ProviderCommon } from './provider-common.js';

export type LdapDirectoryConfig = ProviderCommon & {
  /** tried in order: the first that accepts a connection serves the login (failover) */
  urls: string[];
  startTls: boolean;
  tls: ConnectionOptions;
  connectTimeoutMs: number;
  timeoutMs: number;
  bindDn: string;
  bindPassword: string;
  userBase: string;
  userScope: 'sub' | 'one';
  /** RFC 4515 filter with {{login}}, {{localPart}} and/or {{domain}}, each escaped when filled in */
  userFilter: string;
  /** the stable id links are keyed by: entryUUID (RFC 4530) by default, objectGUID on Active Directory */
  idAttribute: string;
  groups: {
    /** read the user's memberOf attribute (the memberof overlay, Active Directory) */
    memberOf: boolean;
    /** where to search for groups, for the two searches below */
    base?: string;
    /** search (&(objectClass=groupOfNames)(member=<user DN>)) */
    groupOfNames: boolean;
    /** search (&(objectClass=posixGroup)(memberUid=<user uid>)) */
    posixGroup: boolean;
  };
};

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/;
const PLACEHOLDER = /\{\{(login|localPart|domain)\}\}/;

export function readLdapDirectory(s: Section): LdapDirectoryConfig {
  const common = readProviderCommon(s);
  const urls = s.stringList('urls', { min: 1, pattern: /^ldaps?:\/\/[^/\s]+\/?$/, accepted: 'a list of ldap:// or ldaps:// URLs', item: 'an ldap:// or ldaps:// URL (scheme, host and port only)' });
  const startTls = s.boolean('startTls', false);
  urls.forEach((url, i) => {
    const { protocol, hostname } = new URL(url);
    if (startTls && protocol === 'ldaps:') s.fail('startTls', `false with an ldaps:// URL (${s.at('urls')}[${i}] is already TLS)`);
    // The person's password crosses this connection: only a loopback directory may be reached in clear.
    if (protocol === 'ldap:' && !startTls && !LOOPBACK.test(hostname)) {
      s.fail('urls', `ldaps:// URLs, or ldap:// with "startTls": true (passwords must not cross the network in clear; only loopback hosts may use plain ldap://)`);
    }
  });
  const ca = s.file('caFile', { optional: true });
  const groups = s.section('groups');
  const directory: LdapDirectoryConfig = {
    ...common,
    urls,
    startTls,
    // Certificates are always verified; caFile adds a private CA for the directory's certificate.
    tls: { ...(ca ? { ca } : {}), rejectUnauthorized: true },
    connectTimeoutMs: s.duration('connectTimeout', '5s', 1, 60) * 1000,
    timeoutMs: s.duration('timeout', '10s', 1, 120) * 1000,
    bindDn: s.requiredString('bindDn', { accepted: 'the DN of the service account that searches for users' }),
    bindPassword: s.requiredString('bindPassword', { secret: true, accepted: "the service account's password" }),
    userBase: s.requiredString('userBase', { accepted: 'the DN under which users are searched' }),
    userScope: s.oneOf('userScope', ['sub', 'one'] as const, 'sub'),
    userFilter: s.requiredString('userFilter', {
      pattern: new RegExp(`^\\(.*${PLACEHOLDER.source}.*\\)$`),
      accepted: 'an LDAP filter in parentheses using {{login}}, {{localPart}} or {{domain}}, e.g. (&(objectClass=inetOrgPerson)(uid={{localPart}}))',
    }),
    idAttribute: s.string('idAttribute', { optional: true, pattern: /^[A-Za-z][A-Za-z0-9-]*$/, accepted: 'an attribute name such as entryUUID or objectGUID' }) ?? 'entryUUID',
    groups: { memberOf: false, groupOfNames: false, posixGroup: false },
  };
  if (groups) {
    const base = groups.string('base', { optional: true, accepted: 'the DN under which groups are searched' });
    directory.groups = {
      memberOf: groups.boolean('memberOf', false),
      ...(base ? { base } : {}),
      groupOfNames: groups.boolean('groupOfNames', false),
      posixGroup: groups.boolean('posixGroup', false),
    };
    if ((directory.groups.groupOfNames || directory.groups.posixGroup) && !base) groups.fail('base', 'the DN under which groups are searched (needed by groupOfNames and posixGroup)');
    groups.done();
  }
  s.done();
  return directory;
}
