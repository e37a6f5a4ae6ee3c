/** Mail settings: an unusable SMTP_URL stops start-up with a clear message; without one, mail goes to the log. */
import { join } from 'node:path';
import { loadLocales } from '../../src/i18n/locales.js';
import assert from 'node:assert/strict';
import { createMailer } from '../../src/mail/mailer.js';
import { DEFAULT_PATHS } from '../../src/app/paths.js';
import { Writable } from 'node:stream';
import { loadConfig, ConfigError } from '../../src/config/load-config.js';
import { createLogger } from '../../src/app/logger.js';
import { createMailTransport } from '../../src/mail/transport.js';

describe('mail configuration', () => {
  for (const bad of ['http://mail.example.test', 'smtp://', 'smtp://mail.example.test:99999', 'smtps://user:secret@mail.example.test/path', 'mail.example.test:25']) {
    it(`refuses SMTP_URL=${bad} without echoing it`, () => {
      assert.throws(
        () => loadConfig({ NODE_ENV: 'test', SMTP_URL: bad }),
        (err: Error) => err instanceof ConfigError && /^SMTP_URL: got \(hidden\); expected an smtp:\/\/ or smtps:\/\/ URL/.test(err.message) && !err.message.includes('secret'),
      );
    });
  }

  it('accepts smtp and smtps URLs with credentials and nodemailer options, and derives MAIL_FROM', () => {
    const c = loadConfig({ NODE_ENV: 'test', SMTP_URL: 'smtps://user:p%40ss@mail.example.test:465/?pool=true', ISSUER: 'https://id.example.test', BRAND_NAME: 'Acme ID' });
    assert.equal(c.SMTP_URL, 'smtps://user:p%40ss@mail.example.test:465/?pool=true');
    assert.equal(c.MAIL_FROM, 'Acme ID <no-reply@id.example.test>');
    assert.throws(() => loadConfig({ NODE_ENV: 'test', MAIL_FROM: 'not an address' }), /MAIL_FROM: got "not an address"/);
  });

  for (const [mode, reveal] of [['development', true], ['production', false]] as const) {
    it(`without SMTP_URL, prints mail to the log (${reveal ? 'with' : 'without'} the link's token in ${mode})`, async () => {
      const lines: string[] = [];
      const sink = new Writable({ write(chunk: Buffer, _e, done) { lines.push(chunk.toString()); done(); } });
      const transport = await createMailTransport({ smtpUrl: '', from: 'G <no-reply@example.test>', logger: createLogger('info', sink), revealLinksInLog: reveal });
      assert.equal(transport.kind, 'log');
      await transport.send({ to: 'a@example.test', subject: 'Reset', html: '<p>x</p>', text: 'Go to https://id.example.test/password/reset?token=SECRET-TOKEN-VALUE now' });
      const mail = JSON.parse(lines[0]!).mail as { to: string; text: string };
      assert.equal(mail.to, 'a@example.test');
      if (reveal) assert.match(mail.text, /token=SECRET-TOKEN-VALUE/);
      else {
        assert.match(mail.text, /token=\[hidden\] now/);
        assert.ok(!lines.join('').includes('SECRET-TOKEN-VALUE'));
      }
    });
  }

  it('a "Need help?" link in the HTML and the text of every mail when BRAND_SUPPORT_URL (a tenant\'s supportUrl) is set, none otherwise', async () => {
    const sent: { html: string; text: string }[] = [];
    const transport = { kind: 'log' as const, send: async (m: { html: string; text: string }) => void sent.push(m), close() {} };
    const brand = { name: 'Acme', logoUrl: '', primaryColor: '#aa0000', backgroundColor: '#ffffff' };
    for (const supportUrl of ['https://help.acme.test/', '']) {
      const mailer = createMailer({ transport, viewsDir: DEFAULT_PATHS.viewsDir, branding: { ...brand, supportUrl }, issuer: 'https://id.example.test', logger: createLogger('silent'), locales: loadLocales({ dir: join(DEFAULT_PATHS.viewsDir, 'locales'), logger: createLogger('silent') }) });
      await mailer.send('verify-email', 'a@example.test', 'Verify', { name: null, link: 'https://id.example.test/verify-email?token=x', validFor: { unit: 'hours', count: 1 } });
    }
    const [withLink, without] = sent as [{ html: string; text: string }, { html: string; text: string }];
    assert.match(withLink.html, /href="https:\/\/help\.acme\.test\/"[^>]*>Need help\?/);
    assert.match(withLink.text, /Need help\? https:\/\/help\.acme\.test\//);
    assert.doesNotMatch(without.html + without.text, /Need help/);
  });
});
