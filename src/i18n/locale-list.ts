/**
 * The locales Gatehouse ships (issue 20): each has a folder views/locales/<code>/ with the same keys as
 * English's (test/i18n/key-parity.test.ts). Adding one: its folder, and its code here (DEFAULT_LOCALE,
 * the switcher and discovery's ui_locales_supported read this list).
 */
export const LOCALES = ['en', 'de', 'fr', 'es', 'ar'] as const;

export type Locale = (typeof LOCALES)[number];

/** Written right to left: the pages get dir="rtl" (the CSS uses logical properties, so the layout mirrors). */
export const RTL_LOCALES: ReadonlySet<string> = new Set(['ar']);

/** Each language's name in itself, for the switcher (a person looks for their own language's name). */
export const LANGUAGE_NAMES: Record<Locale, string> = { en: 'English', de: 'Deutsch', fr: 'Français', es: 'Español', ar: 'العربية' };

/** The supported locale a BCP 47 tag names: exact (case-insensitive), else its language (de-AT → de). */
export function supportedLocale(tag: unknown): Locale | undefined {
  if (typeof tag !== 'string' || tag.length > 35) return undefined;
  const lower = tag.trim().toLowerCase();
  const exact = LOCALES.find((l) => l === lower);
  if (exact) return exact;
  const language = lower.split(/[-_]/)[0];
  return LOCALES.find((l) => l === language);
}
