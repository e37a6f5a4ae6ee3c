/**
 * CREATE TABLE / CREATE INDEX statements for SQLite and PostgreSQL, derived from the one schema
 * (record-schema.ts). The stores create a new database with these, and their upgrade migrations use
 * them for every table or index they add or change, so a new and an upgraded database end up alike
 * (test/adapters/schema-catalog.test.ts checks both).
 */
import { isTenanted, TENANT_COLUMN, type ColumnType, type Index, type Table } from './record-schema.js';

export type SqlDialect = 'sqlite' | 'postgres';

/** Each engine's declared type for a column type. */
export const SQL_TYPES: Record<SqlDialect, Record<ColumnType, string>> = {
  sqlite: { text: 'TEXT', integer: 'INTEGER', bigint: 'INTEGER', boolean: 'INTEGER', json: 'TEXT', list: 'TEXT', serial: 'INTEGER' },
  postgres: { text: 'text', integer: 'integer', bigint: 'bigint', boolean: 'boolean', json: 'jsonb', list: 'text[]', serial: 'bigint' },
};

/**
 * SQLite orders rows by its rowid: a serial column that is the primary key is the rowid itself
 * (INTEGER PRIMARY KEY AUTOINCREMENT); any other serial column is the implicit rowid, so it is not
 * declared, and an index that ends with it is the index without it (SQLite indexes end with the rowid).
 */
export const implicitInSqlite = (table: Table, column: string) =>
  table.columns[column]?.type === 'serial' && !(table.primaryKey.length === 1 && table.primaryKey[0] === column);

function defaultOf(dialect: SqlDialect, type: ColumnType, value: 0 | false | readonly [] | string): string {
  if (typeof value === 'string') {
    if (!/^[a-z-]+$/.test(value)) throw new Error(`record-schema: a text default must be lower-case letters and -, got ${JSON.stringify(value)}`);
    return `'${value}'`;
  }
  if (value === 0) return '0';
  if (value === false) return dialect === 'sqlite' ? '0' : 'false';
  return dialect === 'sqlite' || type !== 'list' ? `'[]'` : `'{}'`;
}

function columnDdl(dialect: SqlDialect, table: Table, name: string): string | undefined {
  const c = table.columns[name]!;
  if (dialect === 'sqlite' && implicitInSqlite(table, name)) return undefined;
  const soleKey = table.primaryKey.length === 1 && table.primaryKey[0] === name;
  if (c.type === 'serial') {
    return dialect === 'sqlite'
      ? `${name} INTEGER PRIMARY KEY AUTOINCREMENT`
      : `${name} bigint GENERATED ALWAYS AS IDENTITY${soleKey ? ' PRIMARY KEY' : ''}`;
  }
  const parts = [name, SQL_TYPES[dialect][c.type]];
  // a sole text key is NOT NULL by being the key (PostgreSQL), as the first SQLite schema declared it
  if (soleKey) parts.push('PRIMARY KEY');
  else if (!c.nullable) parts.push('NOT NULL');
  if (c.default !== undefined) parts.push(`DEFAULT ${defaultOf(dialect, c.type, c.default)}`);
  if (table.references?.column === name && !isTenanted(table)) parts.push(`REFERENCES ${table.references.table} (id) ON DELETE CASCADE`);
  return parts.join(' ');
}

export function createTableSql(dialect: SqlDialect, table: Table, o: { ifNotExists?: boolean; name?: string } = {}): string {
  const columns = Object.keys(table.columns).map((name) => columnDdl(dialect, table, name)).filter((d) => d !== undefined);
  if (table.primaryKey.length > 1) columns.push(`PRIMARY KEY (${table.primaryKey.join(', ')})`);
  // a tenant's row points at an account of the same tenant (the referenced key leads with the tenant too)
  if (table.references && isTenanted(table)) {
    const r = table.references;
    columns.push(`FOREIGN KEY (${TENANT_COLUMN}, ${r.column}) REFERENCES ${r.table} (${TENANT_COLUMN}, id) ON DELETE CASCADE`);
  }
  return `CREATE TABLE ${o.ifNotExists ? 'IF NOT EXISTS ' : ''}${o.name ?? table.name} (${columns.join(', ')})`;
}

export function indexColumns(dialect: SqlDialect, table: Table, index: Index): string[] {
  return index.columns.filter((c) => dialect !== 'sqlite' || !implicitInSqlite(table, c));
}

export function createIndexSql(dialect: SqlDialect, table: Table, index: Index, o: { ifNotExists?: boolean } = {}): string {
  const where = index.whereNotNull ? ` WHERE ${index.whereNotNull} IS NOT NULL` : '';
  const opclass = dialect === 'postgres' && index.postgresOpclass ? ` ${index.postgresOpclass}` : '';
  const method = dialect === 'postgres' && index.postgresMethod ? ` USING ${index.postgresMethod}` : '';
  return `CREATE ${index.unique ? 'UNIQUE ' : ''}INDEX ${o.ifNotExists ? 'IF NOT EXISTS ' : ''}${index.name} ON ${table.name}${method} (${indexColumns(dialect, table, index).map((c) => `${c}${opclass}`).join(', ')})${where}`;
}

/** The table's indexes that this engine has (some are of one engine only). */
export const indexesOf = (dialect: SqlDialect, table: Table): readonly Index[] => table.indexes.filter((i) => !i.only || i.only === dialect);

/** The whole schema for a new database: every table, then every index. */
export function schemaSql(dialect: SqlDialect, tables: readonly Table[]): string[] {
  return [
    ...tables.map((t) => createTableSql(dialect, t)),
    ...tables.flatMap((t) => indexesOf(dialect, t).map((i) => createIndexSql(dialect, t, i))),
  ];
}

/** The table and its indexes, for a migration that adds a table (IF NOT EXISTS: it may have been made on first use). */
export function addTableSql(dialect: SqlDialect, table: Table): string[] {
  return [createTableSql(dialect, table, { ifNotExists: true }), ...indexesOf(dialect, table).map((i) => createIndexSql(dialect, table, i, { ifNotExists: true }))];
}

/** ALTER TABLE ... ADD COLUMN, for a migration that adds a (nullable or defaulted) column of the schema. */
export function addColumnSql(dialect: SqlDialect, table: Table, column: string): string {
  const ddl = columnDdl(dialect, table, column);
  if (!ddl) throw new Error(`record-schema: ${table.name}.${column} is not a declared column`);
  return `ALTER TABLE ${table.name} ADD COLUMN ${ddl}`;
}

/** A migration that adds columns and indexes of the schema to an existing table. */
export function addColumnsSql(dialect: SqlDialect, table: Table, columns: readonly string[], indexes: readonly string[]): string[] {
  return [...columns.map((c) => addColumnSql(dialect, table, c)), ...indexes.map((i) => createIndexSql(dialect, table, indexNamed(table, i)))];
}

export function indexNamed(table: Table, name: string): Index {
  const index = table.indexes.find((i) => i.name === name);
  if (!index) throw new Error(`record-schema: ${table.name} has no index ${name}`);
  return index;
}
