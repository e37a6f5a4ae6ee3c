import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './free-port.js';
import { makeTempDir, removeDir, runCommand, spawnLogged, startManaged, type Managed } from './process-handle.js';

export interface SlapdOptions {
  /** Base DN of the mdb database; defaults to dc=example,dc=org. */
  suffix?: string;
  /** LDIF *text* (not a path) added with ldapadd after start; see DIRECTORY_FIXTURE. */
  ldif?: string;
}

export interface SlapdService {
  url: string;
  port: number;
  bindDn: string;
  bindPassword: string;
  suffix: string;
  stop(): Promise<void>;
  /** Stop and start again on the same port and database; entries survive. */
  restart(): Promise<void>;
}

/** Path of the shared users/groups fixture, for `startSlapd({ ldif: await readFile(DIRECTORY_FIXTURE, 'utf8') })`. */
export const DIRECTORY_FIXTURE = fileURLToPath(new URL('../../fixtures/ldap/directory.ldif', import.meta.url));

const BIND_PASSWORD = 'admin-password';
const SCHEMAS = ['core', 'cosine', 'inetorgperson', 'nis'];

/** cn=config for one mdb database; memberof keeps memberOf on users in sync with groupOfNames. */
function configLdif(dir: string, suffix: string, rootDn: string): string {
  return `dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: ${join(dir, 'slapd.pid')}
olcArgsFile: ${join(dir, 'slapd.args')}

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb
olcModuleLoad: memberof

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

${SCHEMAS.map((name) => `include: file:///etc/ldap/schema/${name}.ldif`).join('\n\n')}

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcAccess: {0}to * by * none

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcSuffix: ${suffix}
olcRootDN: ${rootDn}
olcRootPW: ${BIND_PASSWORD}
olcDbDirectory: ${join(dir, 'data')}
olcDbIndex: objectClass eq
olcDbIndex: uid,cn,mail,member,memberUid eq
olcAccess: {0}to attrs=userPassword by self write by anonymous auth by * none
olcAccess: {1}to * by * read

dn: olcOverlay={0}memberof,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcMemberOf
olcOverlay: {0}memberof
olcMemberOfRefInt: TRUE
olcMemberOfGroupOC: groupOfNames
olcMemberOfMemberAD: member
olcMemberOfMemberOfAD: memberOf
`;
}

/** The suffix entry itself, shaped by its first RDN (dc=, o= or ou=). */
function suffixLdif(suffix: string): string {
  const match = /^\s*(dc|o|ou)=([^,]+)/i.exec(suffix);
  if (!match?.[1] || !match[2]) throw new Error(`unsupported suffix ${suffix}: first RDN must be dc=, o= or ou=`);
  const [attr, value] = [match[1].toLowerCase(), match[2]];
  const objectClasses: Record<string, string> = {
    dc: `objectClass: dcObject\nobjectClass: organization\ndc: ${value}\no: ${value}`,
    o: `objectClass: organization\no: ${value}`,
    ou: `objectClass: organizationalUnit\nou: ${value}`,
  };
  return `dn: ${suffix}\n${objectClasses[attr] ?? ''}\n`;
}

/** A throwaway OpenLDAP slapd on ldap://127.0.0.1:PORT only, configured via cn=config in a temp dir. */
export async function startSlapd(options: SlapdOptions = {}): Promise<SlapdService> {
  const suffix = options.suffix ?? 'dc=example,dc=org';
  const bindDn = `cn=admin,${suffix}`;
  const dir = await makeTempDir('slapd');
  let managed: Managed | undefined;
  try {
    const port = await freePort();
    const url = `ldap://127.0.0.1:${port}`;
    const configDir = join(dir, 'slapd.d');
    await Promise.all([mkdir(configDir), mkdir(join(dir, 'data'))]);
    await writeFile(join(dir, 'config.ldif'), configLdif(dir, suffix, bindDn));
    await writeFile(join(dir, 'suffix.ldif'), suffixLdif(suffix));
    // Offline loads are instant; the suffix entry needs no overlay, so slapadd it too.
    await runCommand('slapadd', ['-n', '0', '-F', configDir, '-l', join(dir, 'config.ldif')]);
    await runCommand('slapadd', ['-n', '1', '-F', configDir, '-l', join(dir, 'suffix.ldif')]);
    managed = await startManaged({
      dir,
      port,
      // -d keeps slapd in the foreground and logs to stderr. Not `-d 0`: that silences even fatal
      // errors, and `-s` would send them to syslog (/dev/console when there is no /dev/log).
      // 'stats' adds one line per operation, which is what explains a failing LDAP test.
      launch: () => spawnLogged('slapd', ['-d', 'stats', '-F', configDir, '-h', `${url}/`], { cwd: dir }),
    });
    if (options.ldif) {
      // Online ldapadd rather than slapadd: slapadd bypasses overlays, so memberOf would stay empty.
      const ldifPath = join(dir, 'data.ldif');
      await writeFile(ldifPath, options.ldif);
      await runCommand('ldapadd', ['-x', '-H', url, '-D', bindDn, '-w', BIND_PASSWORD, '-f', ldifPath]);
    }
    return { url, port, bindDn, bindPassword: BIND_PASSWORD, suffix, stop: managed.stop, restart: managed.restart };
  } catch (error) {
    await (managed ? managed.stop() : removeDir(dir));
    throw error;
  }
}
