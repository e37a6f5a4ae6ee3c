/**
 * JSON text for a jsonb column, and back. jsonb rejects two things JSON allows: U+0000 and lone UTF-16
 * surrogates (`\ud800`). A value that holds either (an authorization request's `state` can hold
 * anything a client sends) is kept as an envelope around its base64 JSON text, so it still round-trips
 * exactly; every other value stays plain, queryable jsonb. A value that happens to look like an
 * envelope is wrapped too, so reading back is unambiguous.
 */
const ENVELOPE = 'gatehouse:json-base64';
// Walks JSON escapes left to right, so `\\u0000` (an escaped backslash, then text) is not mistaken.
const UNSAFE_ESCAPE = /\\(?:\\|u(0000|d[89a-f][0-9a-f]{2}))/gi;

export function toJsonb(value: unknown): string {
  const text = JSON.stringify(value);
  const unsafe = [...text.matchAll(UNSAFE_ESCAPE)].some((m) => m[1] !== undefined);
  return unsafe || isEnvelope(value) ? JSON.stringify({ [ENVELOPE]: Buffer.from(text).toString('base64') }) : text;
}

export function fromJsonb(value: unknown): unknown {
  return isEnvelope(value) ? JSON.parse(Buffer.from(value[ENVELOPE], 'base64').toString('utf8')) : value;
}

function isEnvelope(value: unknown): value is { [ENVELOPE]: string } {
  return (
    typeof value === 'object' && value !== null && !Array.isArray(value) &&
    Object.keys(value).length === 1 && typeof (value as Record<string, unknown>)[ENVELOPE] === 'string'
  );
}
