/**
 * Where mail goes: an SMTP server (nodemailer, from SMTP_URL), or the log when no server is configured.
 * The log transport prints the plain-text body so a developer can follow the links; outside development
 * the links' tokens are hidden, because a log line is not a mailbox.
 */
import type { Transporter } from 'nodemailer';
import type { Logger } from 'pino';

export type MailMessage = { to: string; subject: string; html: string; text: string };

export type MailTransport = {
  readonly kind: 'smtp' | 'log';
  send(message: MailMessage): Promise<void>;
  close(): void;
};

/** Replaces the value of every `token=` in the text, for logs. */
export const hideTokens = (text: string) => text.replace(/([?&]token=)[^\s&"'<>]+/g, '$1[hidden]');

/** Async because nodemailer (~4 MB of heap) is imported only when SMTP_URL is set. */
export async function createMailTransport(deps: { smtpUrl: string; from: string; logger: Logger; revealLinksInLog: boolean }): Promise<MailTransport> {
  const { smtpUrl, from, logger } = deps;
  if (!smtpUrl) {
    return {
      kind: 'log',
      async send(m) {
        const text = deps.revealLinksInLog ? m.text : hideTokens(m.text);
        logger.info({ mail: { from, to: m.to, subject: m.subject, text } }, 'mail not sent (no SMTP_URL): printed here instead');
      },
      close() {},
    };
  }
  const { default: nodemailer } = await import('nodemailer');
  let transporter: Transporter;
  try {
    transporter = nodemailer.createTransport(smtpUrl, { from });
  } catch (err) {
    // the URL passed the config parser; say which setting without echoing it (it may hold a password)
    throw new Error(`SMTP_URL: nodemailer cannot use this URL (${(err as Error).message})`);
  }
  return {
    kind: 'smtp',
    async send(m) {
      await transporter.sendMail({ from, to: m.to, subject: m.subject, html: m.html, text: m.text });
    },
    close() {
      transporter.close();
    },
  };
}
