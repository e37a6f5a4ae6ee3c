/**
 * Renders a page template inside views/_layout.ejs with the branding, CSP nonce and CSRF token, and
 * `url(path)`: an app-relative path (`/account`) as the browser must see it, under the issuer's base path
 * (http/base-path.ts). Every link, form action and asset of a template goes through it.
 */
import { join } from 'node:path';
import ejs from 'ejs';
import type { Context } from 'koa';
import { underBase } from './base-path.js';

export type Branding = {
  name: string; logoUrl: string; primaryColor: string; backgroundColor: string;
  /** a "Need help?" link under every page and email; '' for none */
  supportUrl: string;
};

export type Renderer = (ctx: Context, view: string, locals: Record<string, unknown> & { title: string }) => Promise<void>;

export function createRenderer(deps: { viewsDir: string; branding: Branding; basePath?: string }): Renderer {
  const { viewsDir, branding } = deps;
  const base = deps.basePath ?? '';
  const url = (path: string) => underBase(base, path);
  // EJS caches compiled templates by filename; templates are part of the release, not edited at run time.
  const options = { cache: true, async: false, strict: false, rmWhitespace: false };
  return async (ctx, view, locals) => {
    const shared = { brand: branding, url, nonce: ctx.state.nonce as string, csrfToken: ctx.state.csrfToken ?? '', error: null };
    const data = { ...shared, ...locals };
    const body = await ejs.renderFile(join(viewsDir, `${view}.ejs`), data, options);
    ctx.type = 'html';
    ctx.set('Cache-Control', 'no-store');
    ctx.body = await ejs.renderFile(join(viewsDir, '_layout.ejs'), { ...data, body }, options);
  };
}
