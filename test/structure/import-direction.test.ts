/**
 * Imports point one way (../shared/STYLE.md, "One path for every request"): entry → doors → protocol →
 * domain → leaves → adapters. This test reads every import of src/ and adapters/ (static imports,
 * `export ... from`, `import type` and dynamic `import('...')`, as the TypeScript compiler's own
 * pre-processor finds them) and fails on any that runs up the table, or sideways from one door into
 * another. A new folder must be placed in the table before anything in it passes.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * The layers, top first. A module may import from its own unit (file or folder), from any layer below
 * its own, and, where `sideways` says so, from another unit of its own layer.
 */
const LAYERS: { layer: string; units: string[]; sideways: boolean; why: string }[] = [
  {
    layer: 'entry',
    units: ['src/main.ts', 'src/server.ts', 'src/cli.ts', 'src/cli/', 'src/cluster-primary.ts', 'src/app/', 'src/dev/'],
    sideways: true,
    why: 'start the process and wire everything (the composition root is src/app/)',
  },
  {
    layer: 'doors',
    units: ['src/interactions/', 'src/account-pages/', 'src/lifecycle/', 'src/admin/', 'src/console/'],
    sideways: false,
    why: 'pages onto the domain; one door never reaches into another (the root hands each what it needs)',
  },
  { layer: 'protocol', units: ['src/oidc/'], sideways: false, why: 'oidc-provider, its configuration and the edge fixes' },
  {
    layer: 'domain',
    units: ['src/accounts/', 'src/roles/', 'src/factors/', 'src/federation/', 'src/clients/', 'src/keys/', 'src/audit/', 'src/mail/', 'src/protection/', 'src/events/', 'src/tenants/'],
    sideways: true,
    why: 'services with narrow store interfaces; they may use one another',
  },
  {
    layer: 'leaves',
    units: ['src/http/', 'src/i18n/', 'src/errors/', 'src/config/', 'src/assurance/'],
    sideways: true,
    why: 'helpers and vocabulary every layer above uses (HTTP pieces, translations, typed errors, settings, ACR/AMR)',
  },
  { layer: 'adapters', units: ['adapters/'], sideways: true, why: 'storage behind adapters/contract.ts' },
];

/**
 * Imports allowed against the table, each with its reason. Empty: every former exception was fixed
 * instead (issue 12 item 1). An entry is `from -> to` (repository-relative paths).
 */
const EXCEPTIONS: Record<string, string> = {};

function unitOf(path: string): { layer: number; unit: string } | undefined {
  for (const [layer, entry] of LAYERS.entries()) {
    const unit = entry.units.find((u) => (u.endsWith('/') ? path.startsWith(u) : path === u));
    if (unit) return { layer, unit };
  }
  return undefined;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.ts$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Relative imports of one file, as repository-relative .ts paths. */
function importsOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(join(ROOT, file), 'utf8'), true, true);
  return info.importedFiles
    .map((f) => f.fileName)
    .filter((spec) => spec.startsWith('.'))
    .map((spec) => relative(ROOT, resolve(ROOT, dirname(file), spec)).replace(/\.js$/, '.ts'));
}

export function againstTheDirection(): string[] {
  const problems: string[] = [];
  for (const file of [...sourceFiles('src'), ...sourceFiles('adapters')]) {
    const from = unitOf(file);
    if (!from) {
      problems.push(`${file} is in no layer: add its folder to LAYERS in test/structure/import-direction.test.ts`);
      continue;
    }
    for (const target of importsOf(file)) {
      const to = unitOf(target);
      if (!to) continue; // outside src/ and adapters/ (package.json, views): not part of the layering
      if (to.unit === from.unit || to.layer > from.layer) continue;
      if (to.layer === from.layer && LAYERS[from.layer]!.sideways) continue;
      if (EXCEPTIONS[`${file} -> ${target}`]) continue;
      const how = to.layer === from.layer ? `sideways between two ${LAYERS[from.layer]!.layer}` : `${LAYERS[from.layer]!.layer} → ${LAYERS[to.layer]!.layer}`;
      problems.push(`${file} imports ${target} (${how})`);
    }
  }
  return problems;
}

describe('import direction (entry → doors → protocol → domain → leaves → adapters)', () => {
  it('finds imports in every form the compiler knows', () => {
    const found = ts.preProcessFile("import a from './a.js';\nimport type { B } from './b.js';\nexport { c } from './c.js';\nconst d = await import('./d.js');", true, true);
    assert.deepEqual(found.importedFiles.map((f) => f.fileName), ['./a.js', './b.js', './c.js', './d.js']);
  });

  it('no import in src/ or adapters/ runs against the direction', () => {
    assert.deepEqual(againstTheDirection(), []);
  });

  it('every exception still names an import that exists', () => {
    for (const key of Object.keys(EXCEPTIONS)) {
      const [from, to] = key.split(' -> ') as [string, string];
      assert.ok(importsOf(from).includes(to), `stale exception: ${key}`);
    }
  });
});
