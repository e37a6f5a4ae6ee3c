import { parseRedisUrl, REDIS_URL_ACCEPTED } from '../../adapters/redis-url.js';
import { parseIpRange } from '../http/ip-ranges.js';

/**
 * Strict parsers for configuration values. Each throws a `SettingValueError` naming what is accepted;
 * none falls back silently (STYLE.md: no parsers that fall back on bad input).
 */
export class SettingValueError extends Error {
  constructor(readonly accepted: string) {
    super(accepted);
  }
}

export type Parser<T> = { parse(raw: string): T; accepted: string };

export function integer(min: number, max: number): Parser<number> {
  const accepted = `an integer from ${min} to ${max}`;
  return {
    accepted,
    parse(raw) {
      if (!/^-?\d+$/.test(raw.trim())) throw new SettingValueError(accepted);
      const n = Number(raw);
      if (n < min || n > max) throw new SettingValueError(accepted);
      return n;
    },
  };
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };

/** A duration in seconds: `90`, `90s`, `15m`, `1h`, `14d`. */
export function duration(minSeconds: number, maxSeconds: number): Parser<number> {
  const accepted = `a duration such as 90s, 15m, 1h or 14d (or plain seconds), from ${minSeconds}s to ${maxSeconds}s`;
  return {
    accepted,
    parse(raw) {
      const m = /^(\d+)([smhd]?)$/.exec(raw.trim());
      if (!m) throw new SettingValueError(accepted);
      const seconds = Number(m[1]) * (UNITS[m[2] || 's'] ?? 1);
      if (seconds < minSeconds || seconds > maxSeconds) throw new SettingValueError(accepted);
      return seconds;
    },
  };
}

export const boolean: Parser<boolean> = {
  accepted: 'true or false',
  parse(raw) {
    const v = raw.trim().toLowerCase();
    if (v === 'true' || v === '1') return true;
    if (v === 'false' || v === '0') return false;
    throw new SettingValueError('true or false');
  },
};

export function oneOf<T extends string>(...values: T[]): Parser<T> {
  const accepted = `one of ${values.join(', ')}`;
  return {
    accepted,
    parse(raw) {
      const v = raw.trim() as T;
      if (!values.includes(v)) throw new SettingValueError(accepted);
      return v;
    },
  };
}

export function text(maxLength = 200): Parser<string> {
  const accepted = `text of at most ${maxLength} characters`;
  return {
    accepted,
    parse(raw) {
      if (raw.length > maxLength) throw new SettingValueError(accepted);
      return raw;
    },
  };
}

export function url(protocols: string[], { allowEmpty = false } = {}): Parser<string> {
  const accepted = `an absolute ${protocols.join(' or ')} URL${allowEmpty ? ' (or empty)' : ''}`;
  return {
    accepted,
    parse(raw) {
      const v = raw.trim();
      if (allowEmpty && v === '') return '';
      let u: URL;
      try {
        u = new URL(v);
      } catch {
        throw new SettingValueError(accepted);
      }
      if (!protocols.includes(u.protocol.replace(/:$/, ''))) throw new SettingValueError(accepted);
      return v;
    },
  };
}

/**
 * The issuer identifier: an http(s) URL with no query or fragment (OpenID Connect Discovery 1.0 §3), and
 * optionally a path (a trailing slash is dropped by loadConfig: every endpoint is the issuer followed by /token, /jwks, ...).
 */
export const issuerUrl: Parser<string> = {
  accepted: 'an absolute http or https URL without query, fragment or credentials, such as https://id.example.com or https://example.com/auth',
  parse(raw) {
    const v = raw.trim();
    let u: URL;
    try {
      u = new URL(v);
    } catch {
      throw new SettingValueError(this.accepted);
    }
    if (!['http:', 'https:'].includes(u.protocol) || u.search || u.hash || v.includes('?') || v.includes('#') || u.username || u.password) {
      throw new SettingValueError(this.accepted);
    }
    return v;
  },
};

/**
 * A connection string with one of these schemes. Checked without `new URL`, which refuses the host lists
 * of replica sets (`mongodb://h1:27017,h2:27017/db`); the driver parses the rest and names any fault.
 */
export function connectionUrl(schemes: string[]): Parser<string> {
  const accepted = `a ${schemes.map((s) => `${s}:`).join(' or ')} URL`;
  return {
    accepted,
    parse(raw) {
      const v = raw.trim();
      const scheme = /^([a-z][a-z0-9+.-]*):./i.exec(v)?.[1]?.toLowerCase();
      if (!scheme || !schemes.includes(scheme)) throw new SettingValueError(accepted);
      return v;
    },
  };
}

/** Empty (no Redis), or a Redis URL that adapters/redis-url.ts can turn into connection options. */
export const redisUrl: Parser<string> = {
  accepted: `empty, or ${REDIS_URL_ACCEPTED}`,
  parse(raw) {
    const v = raw.trim();
    if (v === '') return '';
    try {
      parseRedisUrl(v);
    } catch (err) {
      // The message names the fault and never the URL (it may hold a password).
      throw new SettingValueError(`${REDIS_URL_ACCEPTED} (${(err as Error).message.replace(/^REDIS_URL: /, '')})`);
    }
    return v;
  },
};

/** `#rgb` or `#rrggbb`: it lands inside a <style> block, so nothing else is accepted. */
export const color: Parser<string> = {
  accepted: 'a hex colour such as #1f4fd1',
  parse(raw) {
    const v = raw.trim();
    if (!/^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$/.test(v)) throw new SettingValueError(this.accepted);
    return v;
  },
};

/** A comma-separated list of host names or IP addresses (no scheme, port or path), normalised as URL.hostname. */
export const hostList: Parser<string[]> = {
  accepted: 'a comma-separated list of host names or IP addresses, such as 127.0.0.1,rp.internal (or empty)',
  parse(raw) {
    return raw.split(',').map((s) => s.trim()).filter(Boolean).map((host) => {
      let u: URL;
      try {
        u = new URL(`http://${host}`);
      } catch {
        throw new SettingValueError(this.accepted);
      }
      if (u.port || u.pathname !== '/' || u.username || u.search || u.hash || u.host !== host.toLowerCase()) throw new SettingValueError(this.accepted);
      return u.hostname;
    });
  },
};

/** A comma-separated list of secrets, each at least `minLength` characters. */
export function secretList(minLength: number): Parser<string[]> {
  const accepted = `a comma-separated list of secrets, each at least ${minLength} characters`;
  return {
    accepted,
    parse(raw) {
      const list = raw.split(',').map((s) => s.trim()).filter(Boolean);
      if (list.length === 0 || list.some((s) => s.length < minLength)) throw new SettingValueError(accepted);
      return list;
    },
  };
}

/** A comma-separated list of base64 (or base64url) encoded 32-byte keys, for AES-256-GCM. */
export const aesKeyList: Parser<Buffer[]> = {
  accepted: 'a comma-separated list of base64-encoded 32-byte keys (openssl rand -base64 32)',
  parse(raw) {
    const keys = raw.split(',').map((s) => s.trim()).filter(Boolean).map((s) => Buffer.from(s, 'base64'));
    if (keys.length === 0 || keys.some((k) => k.length !== 32)) throw new SettingValueError(this.accepted);
    return keys;
  },
};

/** A comma-separated list of names (letters, digits, `_ . : -`), possibly empty. */
export const nameList: Parser<string[]> = {
  accepted: 'a comma-separated list of names made of letters, digits and _ . : - (or empty)',
  parse(raw) {
    const list = raw.split(',').map((s) => s.trim()).filter(Boolean);
    if (list.some((s) => !/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$/.test(s))) throw new SettingValueError(this.accepted);
    return list;
  },
};

/** A comma-separated list of IP ranges in CIDR notation (or single addresses), possibly empty. */
export const ipRangeList: Parser<string[]> = {
  accepted: 'a comma-separated list of IP ranges in CIDR notation, such as 192.0.2.0/24,2001:db8::/32 (or empty: anywhere)',
  parse(raw) {
    const list = raw.split(',').map((s) => s.trim()).filter(Boolean);
    if (list.some((s) => parseIpRange(s) === undefined)) throw new SettingValueError(this.accepted);
    return list;
  },
};

/** A comma-separated list of lower-case domain names, possibly empty. */
export const domainList: Parser<string[]> = {
  accepted: 'a comma-separated list of domain names, such as example.com,example.org (or empty: any)',
  parse(raw) {
    const list = raw.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean);
    if (list.some((s) => !/^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/.test(s))) throw new SettingValueError(this.accepted);
    return list;
  },
};

/** An SMTP server URL as nodemailer reads it (`smtp://` with STARTTLS, `smtps://` with TLS), or empty. */
export const smtpUrl: Parser<string> = {
  accepted: 'an smtp:// or smtps:// URL with a host, such as smtps://user:password@mail.example.com:465 (or empty)',
  parse(raw) {
    const v = raw.trim();
    if (v === '') return '';
    let u: URL;
    try {
      u = new URL(v);
    } catch {
      throw new SettingValueError(this.accepted);
    }
    if ((u.protocol !== 'smtp:' && u.protocol !== 'smtps:') || !u.hostname || (u.pathname !== '' && u.pathname !== '/')) {
      throw new SettingValueError(this.accepted);
    }
    return v;
  },
};

/** A sender for the From header: `address@example.com` or `Name <address@example.com>`. */
export const mailbox: Parser<string> = {
  accepted: 'an email address, optionally with a display name: Example <no-reply@example.com>',
  parse(raw) {
    const v = raw.trim();
    if (!/^(?:[^<>\r\n]*<[^\s@<>]+@[^\s@<>]+>|[^\s@<>]+@[^\s@<>]+)$/.test(v) || v.length > 320) throw new SettingValueError(this.accepted);
    return v;
  },
};

/** Brand texts per locale (BRAND_TEXTS): `{"de": {"name": "...", "supportUrl": "https://...", "termsUrl": "https://..."}}`. */
export function brandTexts(locales: readonly string[]): Parser<Record<string, { name?: string; supportUrl?: string; termsUrl?: string }>> {
  const accepted = `empty, or a JSON object keyed by locale (${locales.join(', ')}), each with any of name (at most 80 characters), supportUrl and termsUrl (https URLs)`;
  const https = url(['https']);
  return {
    accepted,
    parse(raw) {
      if (raw.trim() === '') return {};
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw);
      } catch {
        throw new SettingValueError(accepted);
      }
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new SettingValueError(accepted);
      const out: Record<string, { name?: string; supportUrl?: string; termsUrl?: string }> = {};
      for (const [locale, texts] of Object.entries(parsed)) {
        if (!locales.includes(locale) || !texts || typeof texts !== 'object' || Array.isArray(texts)) throw new SettingValueError(accepted);
        const entry: { name?: string; supportUrl?: string; termsUrl?: string } = {};
        for (const [field, value] of Object.entries(texts as Record<string, unknown>)) {
          if (typeof value !== 'string') throw new SettingValueError(accepted);
          if (field === 'name' && value.length >= 1 && value.length <= 80) entry.name = value;
          else if (field === 'supportUrl' || field === 'termsUrl') entry[field] = https.parse(value);
          else throw new SettingValueError(accepted);
        }
        out[locale] = entry;
      }
      return out;
    },
  };
}
