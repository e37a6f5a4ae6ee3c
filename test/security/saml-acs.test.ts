/**
 * Issue 10 item 11: the SAML ACS refuses cheaply before any XML work. An attacker posts without a
 * RelayState, with an unknown one, or with one of another IdP, carrying a huge or malformed SAMLResponse:
 * 400, and the audit reason shows the refusal came from the RelayState lookup (had the XML been parsed,
 * the reason would be a parse, schema or signature failure). Over the per-IP quota: 429 with Retry-After.
 * And IdP metadata over plain http is refused at start-up unless pinned by fingerprint.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { ConfigError, loadConfig } from '../../src/config/load-config.js';
import { idpMetadata, makeTestKey } from '../federation/helpers/saml-crafting.js';

const LIMIT = 12;

describe('security: SAML ACS refuses cheaply first', function () {
  this.timeout(60_000);
  let gh: TestGatehouse;
  let work: string;
  let file: string;
  let posted = 0;
  const acs = (id: string) => `${gh.issuer}/federation/saml/${id}/acs`;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'gatehouse-saml-acs-'));
    const key = await makeTestKey(work, 'idp');
    await writeFile(join(work, 'idp.xml'), idpMetadata('https://idp.example.test/idp', 'http://127.0.0.1:9/sso', key.certPem));
    file = join(work, 'federation.json');
    await writeFile(file, JSON.stringify({
      saml: { acsRequestsPerMinute: LIMIT, idps: [{ id: 'partner', name: 'Partner SSO', metadataFile: join(work, 'idp.xml'), claims: { email: 'email' } }] },
    }));
    gh = await bootGatehouse({ FEDERATION_FILE: file });
  });
  after(async () => {
    await gh?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  const post = async (fields: Record<string, string>) => {
    posted++;
    return fetch(acs('partner'), { method: 'POST', body: new URLSearchParams(fields), headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' } });
  };
  const reasons = async () => (await gh.context.audit.query({ types: ['federation.saml.refused'] })).map((e) => e.reason);

  it('refuses a missing, unknown or malformed RelayState before reading the SAMLResponse (huge, malformed XML)', async () => {
    // ~380 KB of nested elements that never close, and a DTD bomb: parsing either would fail loudly and slowly
    const deep = Buffer.from(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">${'<a>'.repeat(120_000)}`).toString('base64');
    const bomb = Buffer.from('<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><r>&b;</r>').toString('base64');
    const cases: Record<string, string>[] = [
      { SAMLResponse: deep },
      { SAMLResponse: deep, RelayState: randomBytes(24).toString('base64url') },
      { SAMLResponse: bomb, RelayState: ' ' + randomBytes(24).toString('base64url') },
      { SAMLResponse: 'not base64 at all %%%', RelayState: '../../x' },
    ];
    const accounts = await gh.context.store.accounts.count();
    const before = (await reasons()).length;
    for (const fields of cases) {
      const res = await post(fields);
      const html = await res.text();
      assert.equal(res.status, 400, html.slice(0, 300));
      assert.match(html, /The sign-in answer from Partner SSO could not be accepted/);
      assert.ok(!/stack|Error:\s*at /i.test(html));
    }
    const logged = (await reasons()).slice(before);
    assert.deepEqual(logged, cases.map(() => 'no pending request for this RelayState'), 'refused by the lookup, not by a parser');
    assert.equal(await gh.context.store.accounts.count(), accounts);
  });

  it('answers 429 with Retry-After past the per-IP limit, also for a burst in parallel', async () => {
    const statuses = await Promise.all(Array.from({ length: 20 }, () => post({ SAMLResponse: 'x', RelayState: 'y' }).then(async (r) => {
      await r.arrayBuffer();
      return { status: r.status, retryAfter: r.headers.get('retry-after') };
    })));
    const allowed = statuses.filter((s) => s.status === 400).length;
    const limited = statuses.filter((s) => s.status === 429);
    assert.equal(allowed + limited.length, statuses.length, JSON.stringify(statuses));
    assert.equal(allowed, Math.max(0, LIMIT - (posted - statuses.length)), 'exactly the quota is served');
    assert.ok(limited.length > 0);
    for (const l of limited) assert.ok(Number(l.retryAfter) >= 1 && Number(l.retryAfter) <= 60, String(l.retryAfter));
    assert.ok((await reasons()).includes('over the per-IP limit of the ACS'));
  });

  it('refuses an http:// metadata URL at start-up unless pinned by metadataFingerprint', async () => {
    const idp = { id: 'p', name: 'P', claims: { email: 'mail' } };
    const load = async (extra: Record<string, unknown>) => {
      const f = join(work, `f-${randomBytes(4).toString('hex')}.json`);
      await writeFile(f, JSON.stringify({ saml: { idps: [{ ...idp, ...extra }] } }));
      return () => loadConfig({ NODE_ENV: 'test', FEDERATION_FILE: f });
    };
    const refused = await load({ metadataUrl: 'http://idp.example.test/metadata' });
    assert.throws(refused, (err: Error) => {
      assert.ok(err instanceof ConfigError, String(err));
      assert.match(err.message, /saml\.idps\[0\]\.metadataUrl: got "http:\/\/idp\.example\.test\/metadata"; expected an https:\/\/ URL .*metadataFingerprint/);
      assert.ok(!err.message.includes('\n'), 'one line');
      return true;
    });
    const fingerprint = 'AB:'.repeat(31) + 'AB';
    const pinned = (await load({ metadataUrl: 'http://idp.example.test/metadata', metadataFingerprint: fingerprint.toLowerCase() }))();
    assert.deepEqual(pinned.FEDERATION_FILE!.saml.idps[0]!.metadata, { url: 'http://idp.example.test/metadata', refreshSeconds: 3600, fingerprints: [fingerprint] });
    assert.doesNotThrow(await load({ metadataUrl: 'https://idp.example.test/metadata' }));
    assert.throws(await load({ metadataUrl: 'https://idp.example.test/metadata', metadataFingerprint: 'nope' }), /metadataFingerprint: got "nope"/);
  });
});
