// Printing mailctl's answers: aligned text tables for people, JSON (--json) for scripts.
import type { Writable } from 'node:stream';

export interface Column<T> {
  readonly header: string;
  readonly value: (row: T) => string | number;
  /** Numbers read better right-aligned. */
  readonly align?: 'left' | 'right';
}

/**
 * Control characters become U+FFFD: subjects and names come from strangers' mail, and an
 * escape sequence in one must not reach the operator's terminal.
 */
export function printable(text: string): string {
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, '\uFFFD');
}

/** An ISO timestamp as `2026-11-23 02:35:30Z`; `-` for none. */
export function displayDate(iso: string | null): string {
  return iso ? iso.replace('T', ' ').replace(/(\.\d+)?Z$/, 'Z') : '-';
}

export class Output {
  constructor(
    readonly stdout: Writable,
    readonly json: boolean,
  ) {}

  line(text: string): void {
    this.stdout.write(`${text}\n`);
  }

  /** A list: a JSON array of `jsonRows` with --json, else a table (or `empty` when there are no rows). */
  list<T>(rows: readonly T[], columns: readonly Column<T>[], jsonRow: (row: T) => unknown, empty: string): void {
    if (this.json) {
      this.line(JSON.stringify(rows.map(jsonRow), null, 2));
      return;
    }
    if (rows.length === 0) {
      this.line(empty);
      return;
    }
    const cells = rows.map((row) => columns.map((c) => printable(String(c.value(row)))));
    const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((r) => [...r[i]!].length)));
    const render = (values: readonly string[]) =>
      values
        .map((v, i) => {
          const pad = ' '.repeat(widths[i]! - [...v].length);
          return columns[i]!.align === 'right' ? pad + v : i === values.length - 1 ? v : v + pad;
        })
        .join('  ');
    this.line(render(columns.map((c) => c.header)));
    for (const r of cells) this.line(render(r));
  }

  /** The result of a change: a sentence for people, the object with --json. */
  done(sentence: string, value: unknown): void {
    this.line(this.json ? JSON.stringify(value, null, 2) : sentence);
  }
}
