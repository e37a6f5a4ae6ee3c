/**
 * The HTML oidc-provider renders itself (errors, logout confirmation, device flow), drawn with our
 * templates so every page has one look and the same CSP nonce. Error pages show the OAuth error code and
 * a sentence chosen by it (the English description on an English page): never a stack trace or internal detail.
 */
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Renderer, Title } from '../http/render.js';
import { errorPageMessage } from '../errors/error-page-message.js';

type Out = { error?: string; error_description?: string };

/** The visible user_code input in oidc-provider's device input form (lib/helpers/user_code_form.js). */
const USER_CODE_INPUT = /<input\b(?:(?!>)[\s\S])*\bname="user_code"(?:(?!>)[\s\S])*>\s*(?:<\/input>)?/;

const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'", '&#x27;': "'" };
const decodeHtml = (s: string) => s.replace(/&(?:amp|lt|gt|quot|#39|#x27);/g, (e) => ENTITIES[e] ?? e);

export type ProviderPages = ReturnType<typeof createProviderPages>;

export function createProviderPages(deps: { render: Renderer; logger: { warn(obj: object, msg: string): void } }) {
  const { render } = deps;
  // oidc-provider's ctx is our Koa ctx (the provider is mounted, not proxied), so state.nonce is set.
  const page = (ctx: KoaContextWithOIDC, view: string, locals: Record<string, unknown> & { title: Title }) =>
    render(ctx as unknown as Parameters<Renderer>[0], view, locals);

  return {
    async renderError(ctx: KoaContextWithOIDC, out: Out, error: Error) {
      const status = (error as Error & { status?: number }).status;
      if (status === undefined || status >= 500) {
        deps.logger.warn({ reqId: ctx.state.requestId, err: error }, 'provider error page');
      }
      const responseStatus = ctx.status;
      await page(ctx, 'error', {
        title: { key: 'errors.title' },
        heading: { key: 'errors.heading' },
        // a sentence of ours by the code, in the person's language: oidc-provider's error_description is
        // English for developers, shown on an English page only (errors/error-page-message.ts)
        message: errorPageMessage({ code: out.error, status: responseStatus, description: out.error_description }),
        code: out.error ?? 'server_error',
        requestId: ctx.state.requestId,
      });
      ctx.status = responseStatus;
    },

    async logoutSource(ctx: KoaContextWithOIDC, form: string) {
      const clientName = ctx.oidc.client?.clientName ?? null;
      await page(ctx, 'logout', { title: { key: 'logout.title' }, form, clientName });
    },

    async postLogoutSuccessSource(ctx: KoaContextWithOIDC) {
      await page(ctx, 'logged-out', { title: { key: 'logout.doneTitle' } });
    },

    async userCodeInputSource(ctx: KoaContextWithOIDC, form: string, out?: Out, err?: Error) {
      const error = err ? (out?.error === 'NoCodeError' ? null : { key: 'device.invalidCode' }) : null;
      // oidc-provider's form carries its own unlabelled user_code box (with an inline onfocus handler our CSP
      // blocks); the page has the labelled one, so a browser would show two boxes and submit user_code twice.
      const input = USER_CODE_INPUT.exec(form)?.[0] ?? '';
      const userCode = decodeHtml(/\bvalue="([^"]*)"/.exec(input)?.[1] ?? '');
      await page(ctx, 'device-input', { title: { key: 'device.inputTitle' }, form: form.replace(input, ''), error, userCode });
    },

    async userCodeConfirmSource(ctx: KoaContextWithOIDC, form: string, client: { clientName?: string; clientId: string }, _info: unknown, userCode: string) {
      await page(ctx, 'device-confirm', { title: { key: 'device.confirmTitle' }, form, clientName: client.clientName ?? client.clientId, userCode });
    },

    async deviceSuccessSource(ctx: KoaContextWithOIDC) {
      await page(ctx, 'device-success', { title: { key: 'device.successTitle' } });
    },
  };
}
