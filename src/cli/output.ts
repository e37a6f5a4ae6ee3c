/**
 * How a command's result is written: a table for people (stdout is a terminal), JSON for scripts
 * (`--output json`, and whenever stdout is not a terminal), NDJSON (one JSON object a line) for lists.
 * A secret shown only once is marked in every form: `shown_once` names its fields in JSON, a `(shown only
 * now)` note sits next to it in a table, and the command adds a line on stderr.
 */
import { Option } from 'commander';

export const OUTPUT_FORMATS = ['table', 'json', 'ndjson'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export function outputOption(): Option {
  return new Option('-o, --output <format>', 'how to print the result (default: table on a terminal, otherwise json; ndjson prints one object a line)')
    .choices(OUTPUT_FORMATS);
}

export type Row = Record<string, unknown>;

/** What a command prints through: one record, or one list; and notes for the operator on stderr. */
export type Out = {
  record(value: Row, o?: { shownOnce?: string[] }): void;
  list(rows: Row[], columns: string[]): void;
  note(line: string): void;
};

export type Streams = { stdout: { write(s: string): unknown; isTTY?: boolean }; stderr: { write(s: string): unknown } };

/** `--output` as given, else a table on a terminal, else `scripted` (json; ndjson for an event log). */
export function chooseFormat(given: string | undefined, isTTY: boolean, scripted: OutputFormat = 'json'): OutputFormat {
  return (given as OutputFormat | undefined) ?? (isTTY ? 'table' : scripted);
}

export function createOut(format: OutputFormat, streams: Streams): Out {
  return {
    record(value, o = {}) {
      const shownOnce = o.shownOnce?.filter((k) => value[k] !== undefined) ?? [];
      if (format === 'table') {
        streams.stdout.write(recordTable(value, new Set(shownOnce)));
        return;
      }
      const marked = shownOnce.length ? { ...value, shown_once: shownOnce } : value;
      streams.stdout.write(`${format === 'ndjson' ? JSON.stringify(marked) : JSON.stringify(marked, null, 2)}\n`);
    },
    list(rows, columns) {
      if (format === 'json') streams.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      else if (format === 'ndjson') for (const row of rows) streams.stdout.write(`${JSON.stringify(row)}\n`);
      else streams.stdout.write(listTable(rows, columns));
    },
    note(line) {
      streams.stderr.write(`${line}\n`);
    },
  };
}

/** A cell: text as it is, null/undefined as '-', lists joined by commas, anything else as compact JSON. */
function cell(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value.length ? value.join(', ') : '-';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

function lines(table: string[][]): string {
  const widths = table[0]!.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
  return table.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).map((l) => `${l}\n`).join('');
}

function listTable(rows: Row[], columns: string[]): string {
  if (rows.length === 0) return '(none)\n';
  return lines([columns.map((c) => c.toUpperCase()), ...rows.map((r) => columns.map((c) => cell(r[c])))]);
}

function recordTable(value: Row, shownOnce: Set<string>): string {
  return lines(Object.entries(value).map(([k, v]) => [k, shownOnce.has(k) ? `${cell(v)}  (shown only now)` : cell(v)]));
}
