/** The page for a mailed link (verification, password reset) that does not work, saying why and what to do next. */
import type { Context } from 'koa';
import type { Renderer } from '../http/render.js';
import type { TokenState } from '../accounts/account-tokens.js';

const PROBLEMS: Record<Exclude<TokenState, 'valid'>, { status: number; heading: string; text: string }> = {
  expired: { status: 410, heading: 'This link has expired', text: 'Links in our mails work for a limited time. Ask for a new one below.' },
  used: { status: 410, heading: 'This link has already been used', text: 'Each link works once. If you still need to, ask for a new one below.' },
  superseded: {
    status: 410,
    heading: 'A newer link was sent',
    text: 'Only the most recent link we mailed you works. Use the newest message in your inbox, or ask for a new link below.',
  },
  unknown: { status: 400, heading: 'This link is not valid', text: 'Check that you opened the whole link from the mail, or ask for a new one below.' },
};

/** The page for a link that does not work, saying why and what to do next. */
export async function renderLinkProblem(render: Renderer, ctx: Context, kind: 'verify' | 'reset', state: Exclude<TokenState, 'valid'>) {
  const problem = PROBLEMS[state];
  await render(ctx, 'link-problem', {
    title: problem.heading,
    heading: problem.heading,
    message: problem.text,
    state,
    next: kind === 'reset'
      ? { href: '/password/forgot', label: 'Ask for a new password reset link' }
      : { href: null, label: 'Sign in to the app again: it offers to send a new verification link.' },
  });
  ctx.status = problem.status;
}
