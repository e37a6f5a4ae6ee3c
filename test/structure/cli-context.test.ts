/**
 * The CLI runs on a lean context (src/app/cli-context.ts, issue 12 item 4): stores, keys and the domain
 * services, no timers and no pages; oidc-provider is loaded only by a command that needs it. Checked twice:
 * no module the CLI loads at start-up (static imports that are not `import type`) reaches oidc-provider,
 * and a command that does not need it prints no oidc-provider notice.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { TEST_ENCRYPTION_KEY } from '../helpers/gatehouse.js';
import { runCli } from '../helpers/run-cli.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** What loading `file` loads: its static imports and re-exports, except `import type` / `export type` (erased). */
function staticImports(file: string): string[] {
  const sf = ts.createSourceFile(file, readFileSync(join(ROOT, file), 'utf8'), ts.ScriptTarget.ES2022);
  const specs: string[] = [];
  for (const node of sf.statements) {
    if (ts.isImportDeclaration(node) && !node.importClause?.isTypeOnly) specs.push((node.moduleSpecifier as ts.StringLiteral).text);
    if (ts.isExportDeclaration(node) && !node.isTypeOnly && node.moduleSpecifier) specs.push((node.moduleSpecifier as ts.StringLiteral).text);
  }
  return specs;
}

/** Every package the CLI loads before a command runs, with the chain of modules that loads it. */
function packagesLoadedBy(entries: string[]): Map<string, string[]> {
  const packages = new Map<string, string[]>();
  const seen = new Set<string>();
  const walk = (file: string, chain: string[]) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const spec of staticImports(file)) {
      if (!spec.startsWith('.')) {
        if (!packages.has(spec)) packages.set(spec, [...chain, file]);
        continue;
      }
      walk(relative(ROOT, resolve(ROOT, dirname(file), spec)).replace(/\.js$/, '.ts'), [...chain, file]);
    }
  };
  for (const entry of entries) walk(entry, []);
  return packages;
}

describe('the CLI context is lean', () => {
  it('nothing the CLI or its context loads at start-up imports oidc-provider (only the dynamic import of the provider builder does)', () => {
    const packages = packagesLoadedBy(['src/cli.ts', 'src/app/cli-context.ts', 'src/app/paths.ts']);
    // the walk does reach the domain: the account service's password hasher is loaded
    assert.ok(packages.has('bcrypt'), [...packages.keys()].join(', '));
    assert.equal(packages.get('oidc-provider')?.join(' → '), undefined);
  });

  it('a command that needs no provider prints no oidc-provider notice, and one that does still works', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-cli-'));
    try {
      const env = { DATABASE_URL: `sqlite:${join(dir, 'gatehouse.db')}`, KEY_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEY, ISSUER: 'http://127.0.0.1:3000' };
      const listed = await runCli(env, 'keys', 'list');
      assert.equal(listed.code, 0, listed.stderr);
      assert.doesNotMatch(listed.stderr, /oidc-provider/);
      const token = await runCli(env, 'clients', 'initial-token', 'create');
      assert.equal(token.code, 0, token.stderr);
      assert.match(token.stdout, /"initial_access_token"/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
