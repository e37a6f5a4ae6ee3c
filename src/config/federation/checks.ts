/**
 * Path-aware readers for the federation file. Each failure is one `FederationFileError` naming the key
 * (as a path such as `ldap[0].urls[1]`), the value found (never for secrets) and what is accepted, in
 * the same shape as load-config.ts's errors. Nothing falls back silently: unknown keys are refused too.
 */
import { readFileSync } from 'node:fs';
import { duration } from '../parsers.js';

export class FederationFileError extends Error {
  constructor(readonly path: string, got: string, readonly accepted: string) {
    super(`${path}: got ${got}; expected ${accepted}`);
  }
}

type Json = unknown;
const show = (value: Json) => (value === undefined ? 'nothing' : JSON.stringify(value).slice(0, 120));

/**
 * Where a `...File` key's contents come from: `read`, the federation file's own, names a file read now;
 * `inline`, settings stored in the database (a tenant's), carries the contents itself under the key
 * without `File` (`caFile` → `ca`, `metadataFile` → `metadata`), since a stored setting cannot name a
 * file on one replica's disk; there a `...File` key is refused as unknown.
 */
export type FileMode = 'read' | 'inline';

/** A JSON object being read at `path`; `done()` refuses keys nobody read. */
export class Section {
  private readonly seen = new Set<string>();
  constructor(readonly path: string, private readonly obj: Record<string, Json>, readonly files: FileMode = 'read') {}

  static of(path: string, value: Json, files: FileMode = 'read'): Section {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new FederationFileError(path, show(value), 'a JSON object');
    return new Section(path, value as Record<string, Json>, files);
  }

  at(key: string) {
    return this.path ? `${this.path}.${key}` : key;
  }

  raw(key: string): Json {
    this.seen.add(key);
    return this.obj[key];
  }

  has(key: string): boolean {
    return this.obj[key] !== undefined;
  }

  fail(key: string, accepted: string, secret = false): never {
    throw new FederationFileError(this.at(key), secret ? '(hidden)' : show(this.obj[key]), accepted);
  }

  string(key: string, o: { optional?: boolean; pattern?: RegExp; accepted?: string; max?: number; secret?: boolean } = {}): string | undefined {
    const v = this.raw(key);
    if (v === undefined && o.optional) return undefined;
    const accepted = o.accepted ?? `a string of 1 to ${o.max ?? 1000} characters`;
    if (typeof v !== 'string' || v.length === 0 || v.length > (o.max ?? 1000) || (o.pattern && !o.pattern.test(v))) {
      this.fail(key, accepted, o.secret);
    }
    return v;
  }

  requiredString(key: string, o: { pattern?: RegExp; accepted?: string; max?: number; secret?: boolean } = {}): string {
    return this.string(key, o) as string;
  }

  boolean(key: string, fallback: boolean): boolean {
    const v = this.raw(key);
    if (v === undefined) return fallback;
    if (typeof v !== 'boolean') this.fail(key, 'true or false');
    return v;
  }

  oneOf<T extends string>(key: string, values: readonly T[], fallback: T): T {
    const v = this.raw(key);
    if (v === undefined) return fallback;
    if (typeof v !== 'string' || !values.includes(v as T)) this.fail(key, `one of ${values.join(', ')}`);
    return v as T;
  }

  /** A whole number between min and max. */
  integer(key: string, fallback: number, min: number, max: number): number {
    const v = this.raw(key);
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) this.fail(key, `a whole number from ${min} to ${max}`);
    return v;
  }

  /** A duration such as "30s" or "10m", in seconds. */
  duration(key: string, fallback: string, min: number, max: number): number {
    const v = this.raw(key) ?? fallback;
    const parser = duration(min, max);
    try {
      return parser.parse(String(v));
    } catch {
      return this.fail(key, parser.accepted);
    }
  }

  /** `accepted` describes the list, `item` one element of it. */
  stringList(key: string, o: { optional?: boolean; pattern?: RegExp; accepted?: string; item?: string; min?: number } = {}): string[] {
    const v = this.raw(key);
    if (v === undefined && o.optional) return [];
    const accepted = o.accepted ?? 'a list of non-empty strings';
    if (!Array.isArray(v) || v.length < (o.min ?? 0)) this.fail(key, accepted);
    (v as Json[]).forEach((item, i) => {
      if (typeof item !== 'string' || item.length === 0 || (o.pattern && !o.pattern.test(item))) {
        throw new FederationFileError(`${this.at(key)}[${i}]`, show(item), o.item ?? 'a non-empty string');
      }
    });
    return v as string[];
  }

  /** An object whose values are strings: `{ "email": "mail" }`. */
  stringMap(key: string, o: { keys?: readonly string[]; accepted: string }): Record<string, string> {
    const v = this.raw(key);
    if (v === undefined) return {};
    const section = Section.of(this.at(key), v, this.files);
    const out: Record<string, string> = {};
    for (const k of section.keys()) {
      if (o.keys && !o.keys.includes(k)) throw new FederationFileError(section.at(k), 'an unknown key', `only ${o.keys.join(', ')}`);
      out[k] = section.requiredString(k, { accepted: o.accepted });
    }
    return out;
  }

  /** `{ "group": ["role", ...] }`: upstream group → Gatehouse roles. */
  roleMap(key: string): Record<string, string[]> {
    const v = this.raw(key);
    if (v === undefined) return {};
    const section = Section.of(this.at(key), v, this.files);
    const out: Record<string, string[]> = {};
    for (const k of section.keys()) {
      out[k] = section.stringList(k, { min: 1, pattern: ROLE, accepted: 'a list of role names', item: 'a role name (1 to 100 letters, digits and . _ : / -)' });
    }
    return out;
  }

  list(key: string, o: { optional?: boolean } = {}): Section[] {
    const v = this.raw(key);
    if (v === undefined && o.optional) return [];
    if (!Array.isArray(v)) this.fail(key, 'a list of JSON objects');
    return (v as Json[]).map((item, i) => Section.of(`${this.at(key)}[${i}]`, item, this.files));
  }

  section(key: string): Section | undefined {
    const v = this.raw(key);
    return v === undefined ? undefined : Section.of(this.at(key), v, this.files);
  }

  keys(): string[] {
    return Object.keys(this.obj);
  }

  /** Refuses keys nobody asked for: a typo must not silently turn a protection off. */
  done(): void {
    for (const k of Object.keys(this.obj)) {
      if (!this.seen.has(k)) throw new FederationFileError(this.at(k), 'an unknown key', `only ${[...this.seen].join(', ')}`);
    }
  }

  /** The contents of a file named at `key` (read now, at start-up); inline: the contents at `key` without `File`. */
  file(key: string, o: { optional?: boolean } = {}): string | undefined {
    if (this.files === 'inline') {
      return this.string(key.replace(/File$/, ''), { optional: o.optional, max: 200_000, accepted: 'the file\'s contents as a string (PEM or XML)' });
    }
    const path = this.string(key, { optional: o.optional, accepted: 'the path of a readable file' });
    if (path === undefined) return undefined;
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      return this.fail(key, `the path of a readable file (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`);
    }
  }
}

/** Provider ids appear in URLs and in stored links: keep them short and plain. */
export const PROVIDER_ID = /^[a-z0-9][a-z0-9-]{0,39}$/;
export const PROVIDER_ID_ACCEPTED = '1 to 40 lower-case letters, digits or dashes, starting with a letter or digit';
export const ROLE = /^[A-Za-z0-9._:/-]{1,100}$/;
export const DOMAIN = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
