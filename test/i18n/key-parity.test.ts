/**
 * Issue 20's test of the translations: every locale has exactly English's keys, in the same area files;
 * every message parses as ICU MessageFormat in its locale; and a message's arguments (placeholders,
 * plural and select variables, tags) are the ones English's has. Covers every area file present.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { IntlMessageFormat } from 'intl-messageformat';
import { DEFAULT_PATHS } from '../../src/app/paths.js';
import { LOCALES } from '../../src/i18n/locale-list.js';
import { readLocaleFolder } from '../../src/i18n/locales.js';
import { SCOPE_DESCRIPTIONS } from '../../src/oidc/claims.js';
import { refusalMessages, refusalCategories, type Refusal } from '../../src/federation/federation-errors.js';

const dir = join(DEFAULT_PATHS.viewsDir, 'locales');

type Node = { type: number; value?: string; options?: Record<string, { value: Node[] }>; children?: Node[] };

/** The argument names of a message, sorted: {name}, {n, plural, ...}, <tag>...</tag>, at any depth. */
function argumentsOf(nodes: Node[], into = new Set<string>()): Set<string> {
  for (const node of nodes) {
    // TYPE: 1 argument, 2 number, 3 date, 4 time, 5 select, 6 plural, 8 tag (icu-messageformat-parser)
    if ([1, 2, 3, 4, 5, 6].includes(node.type) && node.value) into.add(node.value);
    if (node.type === 8 && node.value) into.add(`<${node.value}>`);
    for (const option of Object.values(node.options ?? {})) argumentsOf(option.value, into);
    if (node.children) argumentsOf(node.children, into);
  }
  return into;
}

describe('translations (views/locales)', () => {
  it('the shipped locales are the folders, no more, no less', () => {
    assert.deepEqual(readdirSync(dir).sort(), [...LOCALES].sort());
  });

  const english = readLocaleFolder(join(dir, 'en'));
  const filesOf = (locale: string) => readdirSync(join(dir, locale)).filter((f) => f.endsWith('.json')).sort();

  it('English has messages', () => assert.ok(Object.keys(english).length > 20));

  it('the federation refusals read in English exactly as their text for the log and the API', () => {
    const shown = (r: Refusal) => String(new IntlMessageFormat(english[r.key]!, 'en', undefined, { ignoreTag: true }).format(r.values));
    const all: Refusal[] = [
      refusalMessages.unavailableUpstream('Okta'), refusalMessages.unavailable('Okta'), refusalMessages.emailTaken('Okta'), refusalMessages.emailNotAllowed('Okta'),
      refusalMessages.emailConflict('Okta'), refusalMessages.emailKept('Okta', 'a@example.test', 'b@example.test'), refusalMessages.noEmail('Okta'), refusalMessages.cannotSignIn('Okta'),
    ];
    for (const category of Object.keys(refusalCategories) as (keyof typeof refusalCategories)[]) {
      all.push(refusalMessages.rejected('Okta', category), refusalMessages.upstreamRejected('Okta', category), refusalMessages.logoutRejected('Okta', category), refusalMessages.logoutResponseRejected('Okta', category));
    }
    for (const r of all) assert.equal(shown(r), r.text, r.key);
  });

  it('the English scope words are the ones the code names (oidc/claims.ts SCOPE_DESCRIPTIONS)', () => {
    for (const [scope, words] of Object.entries(SCOPE_DESCRIPTIONS)) assert.equal(english[`scopes.${scope}`], words, scope);
  });

  for (const locale of LOCALES) {
    describe(locale, () => {
      const messages = readLocaleFolder(join(dir, locale));
      it('has the same area files as English', () => assert.deepEqual(filesOf(locale), filesOf('en')));
      it('has exactly the keys English has', () => {
        const missing = Object.keys(english).filter((k) => !(k in messages));
        const extra = Object.keys(messages).filter((k) => !(k in english));
        assert.deepEqual({ missing, extra }, { missing: [], extra: [] });
      });
      it('every message parses, with the arguments English has', () => {
        const wrong: string[] = [];
        for (const [key, source] of Object.entries(messages)) {
          let ast: Node[];
          try {
            ast = new IntlMessageFormat(source, locale, undefined, { ignoreTag: true }).getAst() as unknown as Node[];
          } catch (err) {
            wrong.push(`${key}: does not parse (${(err as Error).message})`);
            continue;
          }
          const reference = english[key];
          if (reference === undefined) continue;
          const theirs = [...argumentsOf(ast)].sort();
          const ours = [...argumentsOf(new IntlMessageFormat(reference, 'en', undefined, { ignoreTag: true }).getAst() as unknown as Node[])].sort();
          if (theirs.join() !== ours.join()) wrong.push(`${key}: arguments ${theirs.join(', ') || '(none)'}, English has ${ours.join(', ') || '(none)'}`);
        }
        assert.deepEqual(wrong, []);
      });
    });
  }
});
