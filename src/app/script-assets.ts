/**
 * The two scripts the sign-in and account pages load (with the CSP nonce): @simplewebauthn/browser's
 * self-contained bundle, served from our own origin, and our small glue script (views/assets/webauthn.js).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import Router from '@koa/router';

export function createScriptAssetsRouter(viewsDir: string) {
  // the package's exports map names only its entry points; the UMD bundle sits beside them
  const entry = createRequire(import.meta.url).resolve('@simplewebauthn/browser');
  const scripts: Record<string, Buffer> = {
    '/assets/simplewebauthn-browser.js': readFileSync(join(dirname(entry), '..', 'dist', 'bundle', 'index.umd.min.js')),
    '/assets/webauthn.js': readFileSync(join(viewsDir, 'assets', 'webauthn.js')),
  };
  const router = new Router();
  for (const [path, body] of Object.entries(scripts)) {
    router.get(path, (ctx) => {
      ctx.type = 'application/javascript';
      ctx.set('Cache-Control', 'public, max-age=3600');
      ctx.body = body;
    });
  }
  return router;
}
