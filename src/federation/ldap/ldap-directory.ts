/**
 * One LDAP directory: find the person with the service account and a configured filter, then bind as
 * them to check the password (which is never stored), then read their groups. Several server URLs fail
 * over in order; a directory none of whose servers answers is `unavailable`, which the login page says
 * plainly, and which never affects local accounts.
 */
import { randomBytes } from 'node:crypto';
import { Client, EqualityFilter, Filter, InvalidCredentialsError, ResultCodeError, type Entry } from 'ldapts';
import type { Logger } from 'pino';
import type { LdapDirectoryConfig } from '../../config/federation/ldap-config.js';
import { fillUserFilter, normalizeDn } from './ldap-names.js';
import type { UpstreamIdentity } from '../upstream-profile.js';

export type DirectoryOutcome =
  | { status: 'ok'; identity: UpstreamIdentity }
  /** unknown person, wrong password, or a filter that matched several entries: all look alike */
  | { status: 'invalid' }
  /** no server of the directory could answer */
  | { status: 'unavailable' };

export type LdapDirectory = {
  config: LdapDirectoryConfig;
  authenticate(login: string, password: string): Promise<DirectoryOutcome>;
  /** The normalised DN of the one entry this login finds (service bind + search, no password checked), if any. */
  locate(login: string): Promise<string | undefined>;
  /** The normalised DN of the entry whose idAttribute is `externalId` (a federated link's id), if any. */
  locateById(externalId: string): Promise<string | undefined>;
};

/** A transport failure (refused, timed out, TLS) as opposed to an answer from the server. */
class Unreachable extends Error {}

export function createLdapDirectory(config: LdapDirectoryConfig, deps: { logger: Pick<Logger, 'warn' | 'error'> }): LdapDirectory {
  const { logger } = deps;
  const binaryId = config.idAttribute.toLowerCase() === 'objectguid';
  const wanted = [config.idAttribute, config.claims.email, config.claims.name, 'uid', config.groups.memberOf ? 'memberOf' : undefined].filter(
    (a): a is string => !!a,
  );

  async function open(url: string): Promise<Client> {
    // ldapts speaks TLS from the first byte whenever tlsOptions is set, so only ldaps:// URLs get them
    const tls = url.startsWith('ldaps:') ? { tlsOptions: config.tls } : {};
    const client = new Client({ url, connectTimeout: config.connectTimeoutMs, timeout: config.timeoutMs, ...tls });
    // RFC 4513 §3.1.1: StartTLS comes before any bind, so no credential crosses in clear
    if (config.startTls) await guard(() => client.startTLS(config.tls));
    return client;
  }

  /** Runs an operation; anything that is not an LDAP result code means the server did not answer. */
  async function guard<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      if (err instanceof ResultCodeError) throw err;
      throw new Unreachable((err as Error).message);
    }
  }

  /** Binds as `dn` on a fresh connection: true when the password is right. */
  async function bindsAs(url: string, dn: string, password: string): Promise<boolean> {
    const client = await open(url);
    try {
      await guard(() => client.bind(dn, password));
      return true;
    } catch (err) {
      if (err instanceof InvalidCredentialsError) return false;
      throw err;
    } finally {
      await client.unbind().catch(() => undefined);
    }
  }

  async function findUser(service: Client, login: string): Promise<Entry | undefined> {
    const { searchEntries } = await guard(() =>
      service.search(config.userBase, {
        scope: config.userScope,
        filter: fillUserFilter(config.userFilter, login),
        attributes: wanted,
        sizeLimit: 2,
        explicitBufferAttributes: binaryId ? [config.idAttribute] : [],
      }),
    );
    if (searchEntries.length > 1) logger.warn({ directory: config.id }, 'the user filter matched several entries; refusing the login');
    return searchEntries.length === 1 ? searchEntries[0] : undefined;
  }

  async function groupsOf(service: Client, user: Entry, values: (name: string) => string[]): Promise<string[]> {
    const groups = new Set(config.groups.memberOf ? values('memberOf').map(normalizeDn) : []);
    const searches: string[] = [];
    if (config.groups.groupOfNames) searches.push(`(&(objectClass=groupOfNames)(member=${Filter.escape(user.dn)}))`);
    const uid = values('uid')[0];
    if (config.groups.posixGroup && uid) searches.push(`(&(objectClass=posixGroup)(memberUid=${Filter.escape(uid)}))`);
    for (const filter of searches) {
      const { searchEntries } = await guard(() => service.search(config.groups.base as string, { scope: 'sub', filter, attributes: ['1.1'] }));
      for (const g of searchEntries) groups.add(normalizeDn(g.dn));
    }
    return [...groups];
  }

  async function authenticateAt(url: string, login: string, password: string): Promise<DirectoryOutcome> {
    const service = await open(url);
    try {
      await guard(() => service.bind(config.bindDn, config.bindPassword));
      const user = await findUser(service, login);
      if (!user) {
        // spend a failing bind, as a wrong password would, so timing tells nothing (with a throwaway
        // password: the person's own is not sent for a DN that does not exist)
        await bindsAs(url, `cn=gatehouse-${randomBytes(8).toString('hex')},${config.userBase}`, randomBytes(16).toString('hex')).catch(() => false);
        return { status: 'invalid' };
      }
      if (!(await bindsAs(url, user.dn, password))) return { status: 'invalid' };
      const values = attributeReader(user);
      const externalId = values(config.idAttribute)[0];
      if (!externalId) {
        logger.error({ directory: config.id, attribute: config.idAttribute }, 'the directory returned no stable id for a user; check idAttribute');
        return { status: 'unavailable' };
      }
      const groups = await groupsOf(service, user, values);
      return { status: 'ok', identity: { providerId: config.id, externalId, attribute: values, groups } };
    } finally {
      await service.unbind().catch(() => undefined);
    }
  }

  function attributeReader(entry: Entry): (name: string) => string[] {
    const byName = new Map<string, string[]>();
    for (const [key, raw] of Object.entries(entry)) {
      if (key === 'dn') continue;
      const list = (Array.isArray(raw) ? raw : [raw]) as (string | Buffer)[];
      byName.set(key.toLowerCase(), list.map((v) => (Buffer.isBuffer(v) ? v.toString('hex') : v)));
    }
    return (name) => byName.get(name.toLowerCase()) ?? [];
  }

  async function locateAt(url: string, login: string): Promise<string | undefined> {
    const service = await open(url);
    try {
      await guard(() => service.bind(config.bindDn, config.bindPassword));
      const user = await findUser(service, login);
      return user ? normalizeDn(user.dn) : undefined;
    } finally {
      await service.unbind().catch(() => undefined);
    }
  }

  async function locateByIdAt(url: string, externalId: string): Promise<string | undefined> {
    const service = await open(url);
    try {
      await guard(() => service.bind(config.bindDn, config.bindPassword));
      // objectGUID is kept as hex (attributeReader); the filter compares the raw bytes
      const value = binaryId ? Buffer.from(externalId, 'hex') : externalId;
      const filter = new EqualityFilter({ attribute: config.idAttribute, value });
      const { searchEntries } = await guard(() => service.search(config.userBase, { scope: config.userScope, filter, attributes: ['1.1'], sizeLimit: 2 }));
      return searchEntries.length === 1 ? normalizeDn(searchEntries[0]!.dn) : undefined;
    } finally {
      await service.unbind().catch(() => undefined);
    }
  }

  /** The first answer of the servers in turn; undefined when none answers or the answer is an error. */
  async function firstAnswer(op: (url: string) => Promise<string | undefined>): Promise<string | undefined> {
    for (const url of config.urls) {
      try {
        return await op(url);
      } catch (err) {
        if (err instanceof Unreachable) continue;
        return undefined;
      }
    }
    return undefined;
  }

  return {
    config,
    async locate(login) {
      if (login.length === 0) return undefined;
      return firstAnswer((url) => locateAt(url, login));
    },
    async locateById(externalId) {
      if (externalId.length === 0 || (binaryId && !/^(?:[0-9a-f]{2})+$/i.test(externalId))) return undefined;
      return firstAnswer((url) => locateByIdAt(url, externalId));
    },
    async authenticate(login, password) {
      // RFC 4513 §5.1.2: a simple bind with an empty password is an unauthenticated bind, which servers
      // answer with success. It must never count as a password check.
      if (password.length === 0 || login.length === 0) return { status: 'invalid' };
      for (const url of config.urls) {
        try {
          return await authenticateAt(url, login, password);
        } catch (err) {
          if (err instanceof Unreachable) {
            logger.warn({ directory: config.id, url, reason: err.message }, 'directory server unreachable; trying the next one');
            continue;
          }
          // The server answered with an error (the service bind refused, a bad base DN...): configuration.
          logger.error({ directory: config.id, url, code: (err as ResultCodeError).code, reason: (err as Error).message }, 'directory refused a lookup');
          return { status: 'unavailable' };
        }
      }
      return { status: 'unavailable' };
    },
  };
}

