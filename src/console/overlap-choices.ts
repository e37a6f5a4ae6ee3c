/**
 * How long a rotated secret keeps working (clients and webhook endpoints): the choices the console
 * offers, within what both services accept (at most seven days). Anything else posted is refused.
 */
import { InvalidRequestError } from '../errors/errors.js';

export const OVERLAP_CHOICES = [
  { seconds: 0, label: 'none: the old secret stops working now' },
  { seconds: 3_600, label: '1 hour' },
  { seconds: 86_400, label: '24 hours' },
  { seconds: 7 * 86_400, label: '7 days' },
] as const;

export function overlapOf(form: Record<string, string>): number {
  const raw = form.overlap ?? '0';
  const choice = OVERLAP_CHOICES.find((c) => String(c.seconds) === raw);
  if (!choice) throw new InvalidRequestError('Choose how long the old secret keeps working from the list.', `console: overlap ${JSON.stringify(raw)}`);
  return choice.seconds;
}
