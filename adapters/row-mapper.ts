/**
 * Records ⇄ SQL rows, derived from the one schema (record-schema.ts): a field `createdAt` is the column
 * `created_at`, and each engine's codec turns booleans, JSON values and lists into what its column
 * holds. Computed lookup columns (accounts.email_lower) are written whenever their field is. The tenant
 * column is no field: each store writes it from the tenant its handle is bound to.
 */
import { TENANT_COLUMN, type ColumnType, type Table } from './record-schema.js';

export type Row = Record<string, unknown>;

/** How one engine stores the column types that are not stored as themselves. */
export type Codec = { [T in 'boolean' | 'json' | 'list']: { encode(value: unknown): unknown; decode(value: unknown): unknown } };

export type RowMapper<R> = {
  /** the record's columns, in schema order (for INSERT column lists) */
  readonly columns: readonly string[];
  toRow(record: Partial<R>): Row;
  fromRow(row: Row): R;
};

const fieldOf = (column: string) => column.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

export function rowMapper<R>(table: Table, codec: Codec): RowMapper<R> {
  const computed = table.computed ?? {};
  const fields = Object.entries(table.columns)
    .filter(([column, c]) => c.type !== 'serial' && column !== TENANT_COLUMN && !(column in computed))
    .map(([column, c]) => ({ column, field: fieldOf(column), type: c.type }));
  const coded = (type: ColumnType) => (type === 'boolean' || type === 'json' || type === 'list' ? codec[type] : undefined);
  return {
    columns: [...fields.map((f) => f.column), ...Object.keys(computed)],
    toRow(record) {
      const values = record as Record<string, unknown>;
      const row: Row = {};
      for (const { column, field, type } of fields) {
        if (!(field in values)) continue;
        const value = values[field];
        row[column] = value === null || value === undefined ? null : (coded(type)?.encode(value) ?? value);
      }
      for (const [column, { from, compute }] of Object.entries(computed)) {
        if (from in values) row[column] = (compute as (v: unknown) => unknown)(values[from]);
      }
      return row;
    },
    fromRow(row) {
      const record: Record<string, unknown> = {};
      for (const { column, field, type } of fields) {
        const value = row[column];
        record[field] = value === null || value === undefined ? null : (coded(type)?.decode(value) ?? value);
      }
      return record as R;
    },
  };
}
