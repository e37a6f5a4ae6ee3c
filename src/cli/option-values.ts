/** Parsers for option values; commander reports their InvalidArgumentError as a usage error (exit 2). */
import { InvalidArgumentError } from 'commander';
import { duration, SettingValueError } from '../config/parsers.js';

/** `--scope a --scope b`: every value, in order. */
export const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/** A token or resource lifetime: 60 s to 1 day. */
export function ttl(raw: string): number {
  const parser = duration(60, 86400);
  try {
    return parser.parse(raw);
  } catch (err) {
    throw err instanceof SettingValueError ? new InvalidArgumentError(`expected ${parser.accepted}`) : err;
  }
}

/** A secret's overlap window: 0 s to 7 days (the management API's limit too). */
export function overlap(raw: string): number {
  if (/^0+[smhd]?$/.test(raw)) return 0;
  const parser = duration(1, 7 * 86400);
  try {
    return parser.parse(raw);
  } catch (err) {
    throw err instanceof SettingValueError ? new InvalidArgumentError(`expected 0s or ${parser.accepted}`) : err;
  }
}

/** `24h`, `7d` (that long ago) or an ISO 8601 date-time, as epoch milliseconds. */
export function pointInTime(value: string): number {
  if (/^(\d+)([smhd])$/.test(value)) return Date.now() - duration(1, 315360000).parse(value) * 1000;
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new InvalidArgumentError('takes a duration such as 24h or 7d, or an ISO 8601 date-time');
  return t;
}

export function integerFrom1To(max: number): (raw: string) => number {
  return (raw) => {
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < 1 || n > max) throw new InvalidArgumentError(`takes an integer from 1 to ${max}`);
    return n;
  };
}
