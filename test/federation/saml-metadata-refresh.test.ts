/**
 * IdP metadata from a URL refreshes itself (issue 18 item 4). The metadata is served by a local HTTPS
 * server whose certificate a test CA (made with openssl at test time) signed; Gatehouse trusts that CA
 * through metadataCaFile. The IdP rolls its signing key over: metadata with the old key, then both keys,
 * then the new key only; Gatehouse follows without a restart, paced by the metadata's cacheDuration. A
 * refresh that fails (HTTP 500, expired validUntil, another entityID or SSO origin) keeps the last good metadata and
 * logs a warning.
 *
 * The responses are crafted from a real SimpleSAMLphp response and signed with the rolling IdP's keys
 * (test/federation/helpers/saml-crafting.ts), since the real IdP cannot change its key while running.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:https';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import * as oidc from 'openid-client';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { UserAgent, formAction, hiddenFields } from '../helpers/user-agent.js';
import { startSamlIdp, type SamlIdp } from '../helpers/services/saml-idp.js';
import { runCommand } from '../helpers/services/process-handle.js';
import { authnRequestFrom, makeTestKey, rewrite, sign, type TestKey } from './helpers/saml-crafting.js';
import { readFederationFile } from '../../src/config/federation/federation-file.js';
import { loadSamlProviders } from '../../src/federation/saml/saml-providers.js';
import { createMetadataRefresher } from '../../src/federation/saml/metadata-refresh.js';

const REDIRECT_URI = 'https://rp.example.test/callback';
const ROLLING_ENTITY = 'https://rolling-idp.example.test/idp';
const ALICE = { username: 'alice', password: 'alice-idp-password', attributes: { email: ['alice@example.org'] } };

const certBody = (pem: string) => pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
function metadata(certs: string[], o: { cacheDuration?: string; validUntil?: string; entityId?: string; sso?: string } = {}) {
  const keys = certs.map((c) => `<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${certBody(c)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`).join('');
  return `<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="${o.entityId ?? ROLLING_ENTITY}"${o.cacheDuration ? ` cacheDuration="${o.cacheDuration}"` : ''}${o.validUntil ? ` validUntil="${o.validUntil}"` : ''}>
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">${keys}
    <md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${o.sso ?? 'http://127.0.0.1:9/rolling-sso'}"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>`;
}

/** A CA and a server certificate for 127.0.0.1 it signed, made now with openssl. */
async function testCa(dir: string) {
  const f = (n: string) => join(dir, n);
  await runCommand('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '2', '-subj', '/CN=Gatehouse test CA', '-keyout', f('ca.key'), '-out', f('ca.crt')]);
  await runCommand('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-subj', '/CN=127.0.0.1', '-keyout', f('server.key'), '-out', f('server.csr')]);
  await writeFile(f('server.ext'), 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n');
  await runCommand('openssl', ['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '2', '-sha256', '-extfile', f('server.ext'), '-out', f('server.crt')]);
  return { caFile: f('ca.crt'), key: await readFile(f('server.key'), 'utf8'), cert: await readFile(f('server.crt'), 'utf8') };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('SAML metadata from a URL, refreshed (HTTPS with a test CA)', function () {
  this.timeout(120_000);
  let gh: TestGatehouse;
  let real: SamlIdp;
  let server: Server;
  let work: string;
  let rp: oidc.Configuration;
  let oldKey: TestKey;
  let newKey: TestKey;
  let metadataUrl = '';
  let caFile = '';
  let realXml = '';
  // what the metadata server answers now
  let served = { status: 200, body: '' };
  let fetches = 0;
  const sp = (id: string) => ({ entityId: `${gh.issuer}/federation/saml/${id}/metadata`, acs: `${gh.issuer}/federation/saml/${id}/acs` });

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'gatehouse-saml-refresh-'));
    oldKey = await makeTestKey(work, 'rolling-old');
    newKey = await makeTestKey(work, 'rolling-new');
    const ca = await testCa(work);
    caFile = ca.caFile;
    server = createServer({ key: ca.key, cert: ca.cert }, (req, res) => {
      fetches++;
      res.writeHead(served.status, { 'content-type': 'application/samlmetadata+xml' }).end(served.body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    metadataUrl = `https://127.0.0.1:${(server.address() as AddressInfo).port}/idp/metadata`;
    // the IdP starts with its old key; the metadata asks to be fetched again within a second
    served = { status: 200, body: metadata([oldKey.certPem], { cacheDuration: 'PT1S' }) };

    gh = await bootGatehouse();
    real = await startSamlIdp({ spEntityId: sp('real').entityId, acsUrl: sp('real').acs, users: [ALICE] });
    await writeFile(join(work, 'real.xml'), real.metadataXml);
    const file = join(work, 'federation.json');
    await writeFile(file, JSON.stringify({
      saml: {
        idps: [
          { id: 'real', name: 'Real IdP', metadataFile: join(work, 'real.xml'), claims: { email: 'email' } },
          // metadataRefresh is an hour: the short refreshes below come from the metadata's cacheDuration
          { id: 'rolling', name: 'Rolling IdP', metadataUrl, metadataCaFile: caFile, metadataRefresh: '1h', claims: { email: 'email' } },
        ],
      },
    }));
    await gh.restart({ FEDERATION_FILE: file });
    const client = await gh.context.clients.create({
      client_name: 'Refresh RP', redirect_uris: [REDIRECT_URI], grant_types: ['authorization_code'], token_endpoint_auth_method: 'client_secret_basic',
    });
    rp = await oidc.discovery(new URL(gh.issuer), client.client_id, String(client.client_secret), undefined, { execute: [oidc.allowInsecureRequests] });
    realXml = await captureRealResponse();
  });
  after(async () => {
    await gh?.close();
    await real?.stop();
    await new Promise((r) => server?.close(r));
    if (work) await rm(work, { recursive: true, force: true });
  });

  async function authorizationUrl() {
    const verifier = oidc.randomPKCECodeVerifier();
    return oidc.buildAuthorizationUrl(rp, {
      redirect_uri: REDIRECT_URI, scope: 'openid email', code_challenge: await oidc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
    }).href;
  }

  async function captureRealResponse(): Promise<string> {
    const agent = new UserAgent();
    const login = await agent.open(await authorizationUrl());
    let page = await agent.submit(login, formAction(login.html, /\/federated\/real$/), {});
    const authState = /name="AuthState"\s+value="([^"]*)"/.exec(page.html)?.[1]?.replace(/&amp;/g, '&') ?? '';
    const action = /<form[^>]*action="([^"]*)"/.exec(page.html.slice(page.html.indexOf('AuthState') - 2000))?.[1] ?? '';
    page = await agent.submit(page, action.replace(/&amp;/g, '&'), { AuthState: authState, username: ALICE.username, password: ALICE.password });
    const acs = (/<form[^>]*action="([^"]+)"/.exec(page.html)?.[1] ?? '').replace(/&amp;/g, '&');
    const fields = hiddenFields(page.html, acs);
    assert.ok(fields.SAMLResponse, page.html.slice(0, 1000));
    return Buffer.from(fields.SAMLResponse, 'base64').toString('utf8');
  }

  /** A sign-in at the rolling IdP answered with a response signed by `key`: Gatehouse's status code. */
  async function signInSignedBy(key: TestKey): Promise<number> {
    const agent = new UserAgent();
    const login = await agent.open(await authorizationUrl());
    const out = await agent.submit(login, formAction(login.html, /\/federated\/rolling$/), {}, (u) => u.startsWith('http://127.0.0.1:9/rolling-sso'));
    const request = authnRequestFrom(out.url);
    const id = () => `_${randomBytes(16).toString('hex')}`;
    const person = realXml.replace(/>alice@example\.org</g, `>someone-${randomBytes(4).toString('hex')}@rolling.example.test<`);
    const xml = sign(rewrite(person, {
      issuer: ROLLING_ENTITY, destination: sp('rolling').acs, audience: sp('rolling').entityId, inResponseTo: request.id,
      assertionId: id(), responseId: id(), notOnOrAfter: Date.now() + 5 * 60_000,
    }), key, { assertion: true, response: true });
    const res = await agent.fetch(sp('rolling').acs, {
      method: 'POST', body: new URLSearchParams({ SAMLResponse: Buffer.from(xml).toString('base64'), RelayState: request.relayState }),
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
    });
    await res.arrayBuffer();
    return res.status;
  }

  /** Serves `body` and waits until the server was asked for it twice (one whole refresh after the change). */
  async function serveAndWait(next: { status: number; body: string }) {
    served = next;
    const seen = fetches;
    for (let i = 0; i < 100 && fetches < seen + 2; i++) await sleep(100);
    assert.ok(fetches >= seen + 2, 'the metadata was fetched again (cacheDuration PT1S), without a restart');
  }

  it('fetches the metadata over https from a server the configured CA vouches for, and trusts its key', async () => {
    assert.ok(fetches >= 1);
    assert.equal(await signInSignedBy(oldKey), 303);
    assert.equal(await signInSignedBy(newKey), 400, 'the new key is not trusted yet');
  });

  it('follows a key rollover without a restart: both keys during it, then only the new one', async () => {
    await serveAndWait({ status: 200, body: metadata([oldKey.certPem, newKey.certPem], { cacheDuration: 'PT1S' }) });
    assert.equal(await signInSignedBy(newKey), 303, 'the new key is picked up');
    assert.equal(await signInSignedBy(oldKey), 303, 'the old key stays valid during the rollover');

    await serveAndWait({ status: 200, body: metadata([newKey.certPem], { cacheDuration: 'PT1S' }) });
    assert.equal(await signInSignedBy(oldKey), 400, 'the retired key is refused');
    assert.equal(await signInSignedBy(newKey), 303);
  });

  it('keeps the last good metadata when a refresh fails: HTTP 500, expired validUntil, another entityID, a moved SSO origin', async () => {
    const bad = [
      { status: 500, body: 'down for maintenance' },
      { status: 200, body: metadata([oldKey.certPem], { cacheDuration: 'PT1S', validUntil: new Date(Date.now() - 60_000).toISOString() }) },
      { status: 200, body: metadata([oldKey.certPem], { cacheDuration: 'PT1S', entityId: 'https://someone-else.example.test/idp' }) },
      { status: 200, body: metadata([oldKey.certPem], { cacheDuration: 'PT1S', sso: 'https://elsewhere.example.test/sso' }) },
    ];
    for (const next of bad) {
      served = next;
      // a failed refresh is retried on the last good document's cacheDuration (PT1S)
      const seen = fetches;
      for (let i = 0; i < 50 && fetches < seen + 2; i++) await sleep(100);
      assert.ok(fetches >= seen + 2, 'the refused document was fetched (and refused) again');
      assert.equal(await signInSignedBy(newKey), 303, `still the last good metadata after ${next.status} ${next.body.slice(0, 40)}`);
      assert.equal(await signInSignedBy(oldKey), 400, 'and not the refused document\'s key');
    }
  });

  it('logs a warning for a failed refresh and leaves the keys as they were (the refresher on its own)', async () => {
    served = { status: 200, body: metadata([newKey.certPem]) };
    const file = join(work, 'alone.json');
    await writeFile(file, JSON.stringify({ saml: { idps: [{ id: 'rolling', name: 'Rolling IdP', metadataUrl, metadataCaFile: caFile, claims: { email: 'email' } }] } }));
    const config = readFederationFile(file);
    const providers = await loadSamlProviders(config.saml, 'https://gatehouse.example.test');
    const lines: { level: string; obj: Record<string, unknown>; msg: string }[] = [];
    const logger = {
      warn: (obj: Record<string, unknown>, msg: string) => void lines.push({ level: 'warn', obj, msg }),
      info: (obj: Record<string, unknown>, msg: string) => void lines.push({ level: 'info', obj, msg }),
    };
    const refresher = createMetadataRefresher({ providers, settings: config.saml, issuer: 'https://gatehouse.example.test', logger: logger as never });
    const certs = providers[0]!.idpCertificates;
    assert.equal(certs.length, 1);
    served = { status: 503, body: '' };
    await refresher.refreshDue(Date.now() + 2 * 3600_000);
    assert.deepEqual(providers[0]!.idpCertificates, certs);
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.level, 'warn');
    assert.match(lines[0]!.msg, /the last good metadata stays in service/);
    assert.match(String(lines[0]!.obj.err), /answered HTTP 503/);

    served = { status: 200, body: metadata([newKey.certPem, oldKey.certPem]) };
    await refresher.refreshDue(Date.now() + 4 * 3600_000);
    assert.equal(providers[0]!.idpCertificates.length, 2);
    assert.match(lines.at(-1)!.msg, /signing certificates changed/);
  });

  it('with metadataFingerprint, trusts only the pinned certificates the metadata lists (a rollover pins both)', async () => {
    const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;
    const file = join(work, 'pinned.json');
    const load = async (pins: string[]) => {
      await writeFile(file, JSON.stringify({ saml: { idps: [{ id: 'rolling', name: 'Rolling IdP', metadataUrl, metadataCaFile: caFile, metadataFingerprint: pins, claims: { email: 'email' } }] } }));
      return loadSamlProviders(readFederationFile(file).saml, 'https://gatehouse.example.test');
    };
    // someone on the path added their certificate next to the pinned one: it is not trusted
    served = { status: 200, body: metadata([oldKey.certPem, newKey.certPem]) };
    const [pinnedOld] = await load([fingerprint(oldKey.certPem)]);
    assert.deepEqual(pinnedOld!.idpCertificates.map(fingerprint), [fingerprint(oldKey.certPem)]);
    const [both] = await load([fingerprint(oldKey.certPem), fingerprint(newKey.certPem)]);
    assert.equal(both!.idpCertificates.length, 2, 'a rollover pins the old and the new certificate');
    served = { status: 200, body: metadata([newKey.certPem]) };
    await assert.rejects(load([fingerprint(oldKey.certPem)]), /metadataFingerprint: the fetched IdP metadata has no signing certificate with fingerprint/);
  });

  it('refuses at start-up metadata whose validUntil has passed, and an https server no configured CA vouches for', async () => {
    served = { status: 200, body: metadata([oldKey.certPem], { validUntil: '2020-01-01T00:00:00Z' }) };
    const file = join(work, 'expired.json');
    await writeFile(file, JSON.stringify({ saml: { idps: [{ id: 'rolling', name: 'Rolling IdP', metadataUrl, metadataCaFile: caFile, claims: { email: 'email' } }] } }));
    await assert.rejects(loadSamlProviders(readFederationFile(file).saml, 'https://gatehouse.example.test'), /expired at 2020-01-01T00:00:00Z \(validUntil\)/);
    served = { status: 200, body: metadata([oldKey.certPem]) };
    await writeFile(file, JSON.stringify({ saml: { idps: [{ id: 'rolling', name: 'Rolling IdP', metadataUrl, claims: { email: 'email' } }] } }));
    await assert.rejects(loadSamlProviders(readFederationFile(file).saml, 'https://gatehouse.example.test'), /cannot fetch .*(self.signed|unable to verify|certificate)/i);
  });
});
