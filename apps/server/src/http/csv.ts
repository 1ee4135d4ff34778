/**
 * CSV as the app writes it everywhere (analytics reports, the export's files): RFC 4180, CRLF
 * line ends, a header row of the columns. A cell is quoted (its quotes doubled) when it holds a
 * comma, quote or line break. A text starting with `=`, `+`, `-`, `@`, tab or carriage return gets
 * a leading `'`, so that a spreadsheet opening the file shows it rather than evaluating it as a
 * formula (OWASP "CSV injection"); numbers are written as they are. Arrays are space-separated,
 * objects JSON, null empty.
 */
export function csvCell(value: unknown): string {
  let text: string;
  if (value === null || value === undefined) text = '';
  else if (Array.isArray(value)) text = value.map(String).join(' ');
  else if (typeof value === 'object') text = JSON.stringify(value);
  else text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** One record: the row's `columns`, in order, with its CRLF. */
export function csvLine<Row extends object>(
  columns: readonly (keyof Row & string)[],
  row: Row,
): string {
  return `${columns.map((column) => csvCell(row[column])).join(',')}\r\n`;
}

/** A whole CSV document: the header row, then one record per row. */
export function toCsv<Row extends object>(
  columns: readonly (keyof Row & string)[],
  rows: Row[],
): string {
  return `${columns.join(',')}\r\n${rows.map((row) => csvLine(columns, row)).join('')}`;
}
