/** Filling user filters safely, and comparing DNs the way directories do. */
import { Filter } from 'ldapts';

/**
 * The configured filter with {{login}}, {{localPart}} and {{domain}} replaced by the typed login, each
 * escaped per RFC 4515 §3 so that `*`, `(`, `)`, `\` and NUL in the input stay values, never syntax.
 */
export function fillUserFilter(template: string, login: string): string {
  const at = login.lastIndexOf('@');
  const values: Record<string, string> = {
    login,
    localPart: at > 0 ? login.slice(0, at) : login,
    domain: at > 0 ? login.slice(at + 1) : '',
  };
  return template.replace(/\{\{(login|localPart|domain)\}\}/g, (_, name: string) => Filter.escape(values[name] ?? ''));
}

/**
 * A DN in a form fit for comparison: attribute types and values lower-cased (the usual naming attributes,
 * cn, ou, dc, uid, are case-insensitive) and spaces around separators removed (RFC 4514 §3 allows them).
 */
export function normalizeDn(dn: string): string {
  return splitUnescaped(dn, ',')
    .map((rdn) =>
      splitUnescaped(rdn, '+')
        .map((ava) => {
          const eq = ava.indexOf('=');
          return eq < 0 ? ava.trim().toLowerCase() : `${ava.slice(0, eq).trim().toLowerCase()}=${ava.slice(eq + 1).trim().toLowerCase()}`;
        })
        .join('+'),
    )
    .join(',');
}

function splitUnescaped(s: string, separator: string): string[] {
  const parts: string[] = [];
  let current = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (c === '\\' && i + 1 < s.length) {
      current += c + (s[++i] as string);
    } else if (c === separator) {
      parts.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  parts.push(current);
  return parts;
}
