/**
 * Renders a message from views/emails/<name>.html.ejs and <name>.text.ejs with the branding, and hands it
 * to the transport. `queue` sends in the background (so a request that sends mail takes the same time
 * as one that does not: no account enumeration by timing); `drain` waits for what is queued (shutdown,
 * tests). Failures are logged without the recipient's links.
 */
import { join } from 'node:path';
import ejs from 'ejs';
import type { Logger } from 'pino';
import { brandingIn, htmlMessage, type Branding } from '../http/render.js';
import type { Locales } from '../i18n/locales.js';
import type { Locale } from '../i18n/locale-list.js';
import type { MailTransport } from './transport.js';

const LATER_MS = 20;

export type Mailer = {
  /** Renders and sends now; rejects if the transport fails. */
  send(template: string, to: string, subject: string, locals: Record<string, unknown>): Promise<void>;
  /** Renders and sends in the background; never throws. */
  queue(template: string, to: string, subject: string, locals: Record<string, unknown>): void;
  /**
   * Runs work that leads to mail (issue a token, then queue the message) after the response, so that a
   * request for a known address takes the same time as one for an unknown address.
   */
  later(what: string, job: () => Promise<void>): void;
  drain(): Promise<void>;
};

export function createMailer(deps: { transport: MailTransport; viewsDir: string; branding: Branding; issuer: string; logger: Logger; locales: Locales }): Mailer {
  const { transport, branding, logger } = deps;
  const dir = join(deps.viewsDir, 'emails');
  const options = { cache: true, async: false, strict: false };
  const pending = new Set<Promise<void>>();

  async function send(template: string, to: string, subject: string, locals: Record<string, unknown>) {
    // the message's locale (account-mail.ts chose it: the flow's, else the account's, else the default)
    const locale: Locale = deps.locales.pick(locals.locale) ?? 'en';
    const tr = deps.locales.translator(locale);
    const data = { brand: brandingIn(branding, locale), issuer: deps.issuer, subject, t: tr.t, th: htmlMessage(tr.t), dir: tr.dir, formatDate: tr.date, formatNumber: tr.number, ...locals, locale };
    const body = await ejs.renderFile(join(dir, `${template}.html.ejs`), data, options);
    const html = await ejs.renderFile(join(dir, '_layout.html.ejs'), { ...data, body }, options);
    const text = await ejs.renderFile(join(dir, `${template}.text.ejs`), data, options);
    await transport.send({ to, subject, html, text });
  }

  const track = (what: string, work: Promise<void>) => {
    const job = work
      .catch((err: unknown) => logger.error({ err: { message: (err as Error).message }, what }, 'sending mail failed'))
      .finally(() => pending.delete(job));
    pending.add(job);
  };

  return {
    send,
    queue: (template, to, subject, locals) => track(template, send(template, to, subject, locals)),
    // Started a moment later, once the response has left: the work must not delay this response, and
    // not the person's next few bytes either (a test client in the same process would measure it).
    later: (what, job) => track(what, new Promise<void>((resolve) => setTimeout(resolve, LATER_MS)).then(job)),
    async drain() {
      while (pending.size) await Promise.allSettled([...pending]);
    },
  };
}
