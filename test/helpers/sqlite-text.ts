/**
 * Every value of every row of every table of a test server's SQLite file, as text (blobs as utf8 and hex):
 * what a stolen copy of the database would show. Tests search it for secrets that must not be stored in
 * the clear, or compare two readings to show that a refused request stored nothing.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';

export function sqliteText(dataDir: string): string {
  const db = new Database(join(dataDir, 'gatehouse.db'), { readonly: true, fileMustExist: true });
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[];
    return tables
      .flatMap(({ name }) => db.prepare(`SELECT * FROM "${name}"`).all() as Record<string, unknown>[])
      .map((row) => Object.values(row).map((v) => (Buffer.isBuffer(v) ? `${v.toString('utf8')} ${v.toString('hex')}` : String(v))).join(' '))
      .join('\n');
  } finally {
    db.close();
  }
}
