/** Renders a page template inside views/_layout.ejs with the branding, CSP nonce and CSRF token. */
import { join } from 'node:path';
import ejs from 'ejs';
import type { Context } from 'koa';

export type Branding = { name: string; logoUrl: string; primaryColor: string; backgroundColor: string };

export type Renderer = (ctx: Context, view: string, locals: Record<string, unknown> & { title: string }) => Promise<void>;

export function createRenderer(deps: { viewsDir: string; branding: Branding }): Renderer {
  const { viewsDir, branding } = deps;
  // EJS caches compiled templates by filename; templates are part of the release, not edited at run time.
  const options = { cache: true, async: false, strict: false, rmWhitespace: false };
  return async (ctx, view, locals) => {
    const shared = { brand: branding, nonce: ctx.state.nonce as string, csrfToken: ctx.state.csrfToken ?? '', error: null };
    const data = { ...shared, ...locals };
    const body = await ejs.renderFile(join(viewsDir, `${view}.ejs`), data, options);
    ctx.type = 'html';
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await ejs.renderFile(join(viewsDir, '_layout.ejs'), { ...data, body }, options);
  };
}
