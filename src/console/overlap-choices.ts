/**
 * How long a rotated secret keeps working (clients and webhook endpoints): the choices the console
 * offers, within what both services accept (at most seven days). Anything else posted is refused.
 * Each label is a message key of console.json (with its count), shown in the page's locale.
 */
import { InvalidRequestError } from '../errors/errors.js';

export const OVERLAP_CHOICES = [
  { seconds: 0, label: { key: 'console.overlap.none' } },
  { seconds: 3_600, label: { key: 'console.overlap.hours', values: { count: 1 } } },
  { seconds: 86_400, label: { key: 'console.overlap.hours', values: { count: 24 } } },
  { seconds: 7 * 86_400, label: { key: 'console.overlap.days', values: { count: 7 } } },
] as const;

export function overlapOf(form: Record<string, string>): number {
  const raw = form.overlap ?? '0';
  const choice = OVERLAP_CHOICES.find((c) => String(c.seconds) === raw);
  if (!choice) throw new InvalidRequestError('Choose how long the old secret keeps working from the list.', `console: overlap ${JSON.stringify(raw)}`).withPageMessage('console.overlap.refused');
  return choice.seconds;
}
