/** The page for a mailed link (verification, password reset) that does not work, saying why and what to do next. */
import type { Context } from 'koa';
import type { Renderer } from '../http/render.js';
import type { TokenState } from '../accounts/account-tokens.js';

const PROBLEMS: Record<Exclude<TokenState, 'valid'>, { status: number; key: string }> = {
  expired: { status: 410, key: 'expired' },
  used: { status: 410, key: 'used' },
  superseded: { status: 410, key: 'superseded' },
  unknown: { status: 400, key: 'unknown' },
};

/** The page for a link that does not work, saying why and what to do next (lifecycle.json: lifecycle.link.*). */
export async function renderLinkProblem(render: Renderer, ctx: Context, kind: 'verify' | 'reset', state: Exclude<TokenState, 'valid'>) {
  const problem = PROBLEMS[state];
  const heading = { key: `lifecycle.link.${problem.key}.heading` };
  await render(ctx, 'link-problem', {
    title: heading,
    heading,
    message: { key: `lifecycle.link.${problem.key}.text` },
    state,
    next: kind === 'reset'
      ? { href: '/password/forgot', label: { key: 'lifecycle.link.newReset' } }
      : { href: null, label: { key: 'lifecycle.link.newVerification' } },
  });
  ctx.status = problem.status;
}
