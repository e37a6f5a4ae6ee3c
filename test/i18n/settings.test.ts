/**
 * The language settings (issue 20 §3, §4): DEFAULT_LOCALE is checked against the shipped locales and is
 * the language when nothing else chooses one; BRAND_TEXTS gives the product name and links per locale,
 * refused when malformed; a tenant's branding.defaultLocale is its own default.
 */
import assert from 'node:assert/strict';
import { loadConfig } from '../../src/config/load-config.js';
import { tenantSettingsSchema } from '../../src/tenants/tenant-settings.js';
import { bootGatehouse, type TestGatehouse } from '../helpers/gatehouse.js';
import { UserAgent } from '../helpers/user-agent.js';
import { registerRelyingParty, authorization, atClient } from '../lifecycle/setup.js';

const langOf = (html: string) => /<html lang="([^"]+)"/.exec(html)?.[1];

describe('language settings', () => {
  it('refuses a DEFAULT_LOCALE that is not shipped, naming what is accepted', () => {
    assert.throws(() => loadConfig({ NODE_ENV: 'test', DEFAULT_LOCALE: 'tlh' }), /DEFAULT_LOCALE: got "tlh".*one of en, de, fr, es, ar/);
    assert.equal(loadConfig({ NODE_ENV: 'test', DEFAULT_LOCALE: 'ar' }).DEFAULT_LOCALE, 'ar');
  });

  it('refuses a malformed BRAND_TEXTS: not JSON, an unknown locale, an http link, an unknown field', () => {
    for (const bad of ['{', '[]', '{"tlh":{"name":"x"}}', '{"de":{"supportUrl":"http://help.example"}}', '{"de":{"colour":"red"}}', '{"de":{"name":""}}', '{"de":"Torhaus"}']) {
      assert.throws(() => loadConfig({ NODE_ENV: 'test', BRAND_TEXTS: bad }), /BRAND_TEXTS/, bad);
    }
    assert.deepEqual(loadConfig({ NODE_ENV: 'test', BRAND_TEXTS: '{"de":{"name":"Torhaus","supportUrl":"https://hilfe.example/"}}' }).BRAND_TEXTS, { de: { name: 'Torhaus', supportUrl: 'https://hilfe.example/' } });
  });

  it('a tenant default locale is one of the shipped ones', () => {
    assert.equal(tenantSettingsSchema.parse({ branding: { defaultLocale: 'fr' } }).branding.defaultLocale, 'fr');
    assert.throws(() => tenantSettingsSchema.parse({ branding: { defaultLocale: 'tlh' } }));
  });

  describe('on the pages', () => {
    let gh: TestGatehouse;
    before(async () => {
      gh = await bootGatehouse({ DEFAULT_LOCALE: 'de', BRAND_NAME: 'Gatehouse', BRAND_SUPPORT_URL: 'https://help.example/', BRAND_TEXTS: '{"de":{"name":"Torhaus","supportUrl":"https://hilfe.example/"}}' });
    });
    after(() => gh?.close());

    it('DEFAULT_LOCALE when the browser names nothing supported, and the brand texts of the page\'s locale', async () => {
      const rp = await registerRelyingParty(gh);
      const de = await new UserAgent({ 'accept-language': 'tlh' }).open((await authorization(rp)).url, atClient);
      assert.equal(langOf(de.html), 'de');
      assert.match(de.html, /<title>Anmelden · Torhaus<\/title>/);
      assert.match(de.html, /href="https:\/\/hilfe\.example\/"[^>]*>Brauchen Sie Hilfe\?/);
      const en = await new UserAgent({ 'accept-language': 'en' }).open((await authorization(rp)).url, atClient);
      assert.equal(langOf(en.html), 'en');
      assert.match(en.html, /<title>Sign in · Gatehouse<\/title>/);
      assert.match(en.html, /href="https:\/\/help\.example\/"[^>]*>Need help\?/);
    });
  });
});
