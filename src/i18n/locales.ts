/**
 * The translated texts of the pages and emails (issue 20): views/locales/<locale>/<area>.json, flat keys
 * that each start with the file's area (`login.title` in login.json). Read once at start-up (the app's
 * wiring calls `loadLocales`); each message is compiled by intl-messageformat (ICU MessageFormat: plurals,
 * select, numbers and dates in the locale's rules) the first time it is used, and kept.
 *
 * A key missing in a locale falls back to English, logged once; a key missing in English is a
 * programming error (the key-parity test keeps every locale's keys equal to English's), answered
 * with the key itself so a page still renders.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IntlMessageFormat } from 'intl-messageformat';
import { LANGUAGE_NAMES, LOCALES, RTL_LOCALES, supportedLocale, type Locale } from './locale-list.js';

export type MessageValues = Record<string, string | number | Date | boolean | null | undefined>;

/** What a page or an email in one locale uses. */
export type Translator = {
  locale: Locale;
  dir: 'ltr' | 'rtl';
  t(key: string, values?: MessageValues): string;
  date(value: Date | number, options?: Intl.DateTimeFormatOptions): string;
  number(value: number, options?: Intl.NumberFormatOptions): string;
};

export type Locales = {
  supported: readonly Locale[];
  /** The first candidate that names a supported locale (de-AT → de), else undefined. */
  pick(...candidates: unknown[]): Locale | undefined;
  t(locale: Locale, key: string, values?: MessageValues): string;
  dir(locale: Locale): 'ltr' | 'rtl';
  translator(locale: Locale): Translator;
  /** Each supported locale with its own name, for the switcher. */
  languages: { code: Locale; name: string }[];
};

type Warn = { warn(obj: object, msg: string): void };

/** The messages of one locale: every area file of its folder, merged. Exported for the key-parity test. */
export function readLocaleFolder(dir: string): Record<string, string> {
  const messages: Record<string, string> = {};
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    const area = file.slice(0, -'.json'.length);
    const parsed = JSON.parse(readFileSync(join(dir, file), 'utf8')) as unknown;
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new TypeError(`${join(dir, file)}: not a JSON object`);
    for (const [key, value] of Object.entries(parsed)) {
      if (!key.startsWith(`${area}.`)) throw new TypeError(`${join(dir, file)}: the key ${key} does not start with "${area}."`);
      if (typeof value !== 'string') throw new TypeError(`${join(dir, file)}: the value of ${key} is not a string`);
      messages[key] = value;
    }
  }
  return messages;
}

/** Every shipped locale's folder under `dir`, read now (start-up). Which one is the default is the caller's (per tenant). */
export function loadLocales(deps: { dir: string; logger: Warn }): Locales {
  const sources = new Map<Locale, Record<string, string>>(LOCALES.map((l) => [l, readLocaleFolder(join(deps.dir, l))]));
  return createLocales({ sources, logger: deps.logger });
}

export function createLocales(deps: { sources: Map<Locale, Record<string, string>>; logger: Warn }): Locales {
  const { sources, logger } = deps;
  const english = sources.get('en') ?? {};
  const compiled = new Map<string, IntlMessageFormat>();
  const warned = new Set<string>();

  function format(locale: Locale, key: string): IntlMessageFormat | undefined {
    const id = `${locale}\u0000${key}`;
    const kept = compiled.get(id);
    if (kept) return kept;
    let source = sources.get(locale)?.[key];
    let as: Locale = locale;
    if (source === undefined) {
      if (!warned.has(id)) {
        warned.add(id);
        logger.warn({ locale, key }, english[key] === undefined ? 'no such message key' : 'message missing in this locale: English shown');
      }
      source = english[key];
      as = 'en';
      if (source === undefined) return undefined;
    }
    const message = new IntlMessageFormat(source, as, undefined, { ignoreTag: true });
    compiled.set(id, message);
    return message;
  }

  const t = (locale: Locale, key: string, values?: MessageValues): string => {
    const message = format(locale, key);
    if (!message) return key;
    return String(message.format(values as Record<string, string | number | Date | boolean>));
  };
  const dir = (locale: Locale) => (RTL_LOCALES.has(locale) ? 'rtl' : 'ltr') as 'ltr' | 'rtl';
  const translators = new Map<Locale, Translator>();

  return {
    supported: LOCALES,
    pick(...candidates) {
      for (const c of candidates) {
        const found = supportedLocale(c);
        if (found) return found;
      }
      return undefined;
    },
    t,
    dir,
    translator(locale) {
      let kept = translators.get(locale);
      if (!kept) {
        kept = {
          locale,
          dir: dir(locale),
          t: (key, values) => t(locale, key, values),
          date: (value, options) => new Intl.DateTimeFormat(locale, options ?? { dateStyle: 'long', timeStyle: 'long', timeZone: 'UTC' }).format(value),
          number: (value, options) => new Intl.NumberFormat(locale, options).format(value),
        };
        translators.set(locale, kept);
      }
      return kept;
    },
    languages: LOCALES.map((code) => ({ code, name: LANGUAGE_NAMES[code] })),
  };
}
