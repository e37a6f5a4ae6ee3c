/**
 * FEDERATION_FILE is checked at start-up: each mistake is one line naming the key, the value and what
 * is accepted (like every other setting), secrets are never echoed, and unknown keys are refused.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, ConfigError } from '../../src/config/load-config.js';
import { bootGatehouse } from '../helpers/gatehouse.js';

const directory = {
  id: 'corp', name: 'Corp', urls: ['ldaps://ldap.example.org'], bindDn: 'cn=svc,dc=example,dc=org', bindPassword: 'very-secret-bind-password',
  userBase: 'ou=people,dc=example,dc=org', userFilter: '(uid={{localPart}})', claims: { email: 'mail' },
};

describe('FEDERATION_FILE', () => {
  let dir: string;
  let n = 0;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gatehouse-federation-config-'));
    await writeFile(join(dir, 'idp.xml'), '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"/>');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  async function load(content: unknown): Promise<ReturnType<typeof loadConfig>> {
    const file = join(dir, `f${n++}.json`);
    await writeFile(file, typeof content === 'string' ? content : JSON.stringify(content));
    return loadConfig({ NODE_ENV: 'test', FEDERATION_FILE: file });
  }
  async function refused(content: unknown, message: RegExp) {
    await assert.rejects(load(content), (err: Error) => {
      assert.ok(err instanceof ConfigError, String(err));
      assert.match(err.message, /^FEDERATION_FILE: got ".*f\d+\.json"; expected a valid federation file; /);
      assert.match(err.message, message);
      assert.ok(!err.message.includes('\n'), 'one line');
      assert.ok(!err.message.includes('very-secret-bind-password'), 'secrets are never echoed');
      return true;
    });
  }

  it('is optional, and reads a valid file', async () => {
    assert.equal(loadConfig({ NODE_ENV: 'test' }).FEDERATION_FILE, null);
    const config = (await load({ ldap: [{ ...directory, domains: ['example.org'], roles: { 'cn=admins,dc=example,dc=org': ['admin'] } }], ldapOrder: ['corp'] })).FEDERATION_FILE!;
    assert.equal(config.ldap[0]!.id, 'corp');
    assert.equal(config.ldap[0]!.idAttribute, 'entryUUID');
    assert.equal(config.ldap[0]!.connectTimeoutMs, 5000);
    assert.deepEqual(config.ldap[0]!.emailDomains, ['example.org'], 'emailDomains defaults to domains');
    assert.equal(config.ldap[0]!.outsideDomains, 'unverified');
    assert.deepEqual(config.ldapOrder, ['corp']);
    assert.deepEqual(config.saml.idps, []);
  });

  it('names the key, the value and what is accepted', async () => {
    await refused('{ not json', /\(file\): got ".*"; expected a readable JSON file/);
    await refused({ ldap: [{ ...directory, urls: ['http://ldap.example.org'] }] }, /ldap\[0\]\.urls\[0\]: got "http:\/\/ldap\.example\.org"; expected an ldap:\/\/ or ldaps:\/\/ URL \(scheme, host and port only\)$/);
    await refused({ ldap: [{ ...directory, urls: ['ldap://ldap.example.org'] }] }, /ldap\[0\]\.urls: .*passwords must not cross the network in clear/);
    await refused({ ldap: [{ ...directory, userFilter: '(uid=*)' }] }, /ldap\[0\]\.userFilter: got "\(uid=\*\)"; expected an LDAP filter .*\{\{login\}\}/);
    await refused({ ldap: [{ ...directory, claims: {} }] }, /ldap\[0\]\.claims: got \{\}; expected an object with at least "email"/);
    await refused({ ldap: [{ ...directory, connectTimeout: 'soon' }] }, /ldap\[0\]\.connectTimeout: got "soon"; expected a duration/);
    await refused({ ldap: [{ ...directory, bindPassword: 42 }] }, /ldap\[0\]\.bindPassword: got \(hidden\); expected the service account's password/);
    await refused({ ldap: [{ ...directory, id: 'Corp!' }] }, /ldap\[0\]\.id: got "Corp!"; expected 1 to 40 lower-case letters/);
    await refused({ ldap: [directory, { ...directory }] }, /ldap\[1\]\.id: got "corp"; expected an id no other directory or IdP uses/);
    await refused({ ldap: [{ ...directory, domains: ['example.org'] }, { ...directory, id: 'lab', domains: ['example.org'] }] }, /ldap\[1\]\.domains: got "example\.org"; expected a domain no other provider claims \(corp has it\)/);
    await refused({ ldap: [{ ...directory, domains: ['example.org'] }, { ...directory, id: 'lab', emailDomains: ['example.org'] }] }, /ldap\[1\]\.emailDomains: got "example\.org"; expected a domain no other provider claims \(corp has it\)/);
    await refused({ ldap: [{ ...directory, outsideDomains: 'verified' }] }, /ldap\[0\]\.outsideDomains: got "verified"; expected one of unverified, refuse/);
    await refused({ ldap: [directory], ldapOrder: ['lab'] }, /ldapOrder\[0\]: got "lab"; expected the id of a directory in "ldap" \(corp\)/);
    await refused({ ldap: [{ ...directory, startTLS: true }] }, /ldap\[0\]\.startTLS: got an unknown key; expected only /);
    await refused({ ldap: [{ ...directory, roles: { admins: 'admin' } }] }, /ldap\[0\]\.roles\.admins: got "admin"; expected a list of role names$/);
    await refused({ saml: { idps: [{ id: 'p', name: 'P', claims: { email: 'mail' } }] } }, /saml\.idps\[0\]\.metadataFile: got nothing; expected exactly one of metadataFile or metadataUrl/);
    await refused({ saml: { idps: [{ id: 'p', name: 'P', claims: { email: 'mail' }, metadataFile: join(dir, 'missing.xml') }] } }, /saml\.idps\[0\]\.metadataFile: got ".*missing\.xml"; expected the path of a readable file \(ENOENT\)/);
    await refused({ saml: { privateKeyFile: join(dir, 'idp.xml'), idps: [] } }, /saml\.certificateFile: got nothing; expected privateKeyFile and certificateFile together/);
    await refused({ saml: { idps: [{ id: 'p', name: 'P', claims: { email: 'mail' }, metadataFile: join(dir, 'idp.xml'), signAuthnRequests: true }] } }, /saml\.privateKeyFile: got nothing; expected the SP key files, because saml\.idps\[0\] signs its AuthnRequests/);
  });

  it('reads and checks the NameID, email-conflict and metadata-refresh settings (issue 18)', async () => {
    const idp = { id: 'p', name: 'P', claims: { email: 'mail' }, metadataFile: join(dir, 'idp.xml') };
    const read = (await load({ saml: { idps: [{ ...idp, nameIdFormat: 'transient', idAttribute: 'employeeNumber', emailConflict: 'refuse' }] } })).FEDERATION_FILE!.saml.idps[0]!;
    assert.equal(read.nameIdFormat, 'transient');
    assert.equal(read.idAttribute, 'employeeNumber');
    assert.equal(read.allowCreate, true, 'AllowCreate="true" by default');
    assert.equal(read.emailConflict, 'refuse');
    const defaults = (await load({ saml: { idps: [idp] } })).FEDERATION_FILE!.saml.idps[0]!;
    assert.equal(defaults.emailConflict, 'keep');
    assert.equal(defaults.nameIdFormat, 'persistent');
    assert.equal((await load({ ldap: [directory] })).FEDERATION_FILE!.ldap[0]!.emailConflict, 'keep', 'directories share the rule');
    await refused({ saml: { idps: [{ ...idp, nameIdFormat: 'transient' }] } }, /saml\.idps\[0\]\.idAttribute: got nothing; expected the attribute that identifies the person/);
    await refused({ saml: { idps: [{ ...idp, nameIdFormat: 'kerberos' }] } }, /saml\.idps\[0\]\.nameIdFormat: got "kerberos"; expected one of persistent, transient, emailAddress, unspecified/);
    await refused({ saml: { idps: [{ ...idp, allowCreate: 'yes' }] } }, /saml\.idps\[0\]\.allowCreate: got "yes"; expected true or false/);
    await refused({ ldap: [{ ...directory, emailConflict: 'merge' }] }, /ldap\[0\]\.emailConflict: got "merge"; expected one of keep, refuse/);
    await refused({ saml: { idps: [{ ...idp, metadataRefresh: '1h' }] } }, /saml\.idps\[0\]\.metadataRefresh: got "1h"; expected nothing, unless metadataUrl is set/);
    await refused({ saml: { idps: [{ ...idp, metadataFile: undefined, metadataUrl: 'https://idp.example.org/md', metadataRefresh: 'often' }] } }, /saml\.idps\[0\]\.metadataRefresh: got "often"; expected a duration/);
    await refused({ saml: { idps: [{ ...idp, metadataFile: undefined, metadataUrl: 'https://idp.example.org/md', metadataFingerprint: ['AB'] }] } }, /saml\.idps\[0\]\.metadataFingerprint\[0\]: got "AB"; expected the SHA-256 fingerprint/);
    const pins = (await load({ saml: { idps: [{ ...idp, metadataFile: undefined, metadataUrl: 'http://idp.example.org/md', metadataFingerprint: ['ab'.repeat(32), 'CD:'.repeat(31) + 'CD'] }] } })).FEDERATION_FILE!.saml.idps[0]!.metadata;
    assert.deepEqual(pins, { url: 'http://idp.example.org/md', refreshSeconds: 3600, fingerprints: [('AB:'.repeat(31) + 'AB'), ('CD:'.repeat(31) + 'CD')] });
    await refused({ saml: { idps: [{ ...idp, metadataCaFile: join(dir, 'idp.xml') }] } }, /saml\.idps\[0\]\.metadataCaFile: got ".*"; expected nothing, unless metadataUrl is an https:\/\/ URL/);
  });

  it('refuses at start-up an IdP whose metadata lacks what SSO needs', async () => {
    const file = join(dir, 'bad-metadata.json');
    await writeFile(file, JSON.stringify({ saml: { idps: [{ id: 'p', name: 'P', claims: { email: 'mail' }, metadataFile: join(dir, 'idp.xml') }] } }));
    await assert.rejects(bootGatehouse({ FEDERATION_FILE: file }), /^Error: FEDERATION_FILE: saml\.idps\[0\]: the IdP metadata/);
  });
});
