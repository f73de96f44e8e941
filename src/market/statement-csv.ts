// The statements table as CSV: one row per contract and interval (and, settlement rule 3, per
// household energy statement), with ISO times, members' names beside their ids, and token
// amounts with their decimals. Pure: the page's export and `npm run verify -- --household ID
// --csv` both call it, so the two files are the same bytes.
import { isEnergyStatement, type EnergyStatement, type Statement } from '../core/settlement.js';
import type { LedgerState } from '../core/state.js';
import { formatMilli, formatTokens } from '../core/money.js';

export interface CsvContext {
  interval_ms: number;
  token_decimals: number;
  token_symbol: string;
  /** A member's display name ('' when it has none). */
  nameOf: (id: string) => string;
}

export type StatementRow = Statement & { height: number };

/** How a member is named everywhere: its display name, else "Grid operator", else its short id. */
export function memberLabel(id: string, name: string | null | undefined, operator: string | null): string {
  return name ? name : id === operator ? 'Grid operator' : id.slice(0, 8);
}

/** The CSV context of a ledger state: its grid's units and its members' names. */
export function csvContextOf(state: Pick<LedgerState, 'params' | 'members' | 'operator'>): CsvContext {
  return {
    interval_ms: state.params.interval_ms,
    token_decimals: state.params.token_decimals,
    token_symbol: state.params.token_symbol,
    nameOf: (id) => memberLabel(id, state.members.get(id)?.name, state.operator),
  };
}

/** A household's statements as the app lists them: as consumer or producer; the operator sees all. */
export function isHouseholdStatement(s: Statement, household: string, isOperator: boolean): boolean {
  if (isEnergyStatement(s)) return isOperator || s.member === household;
  return isOperator || s.consumer === household || s.producer === household;
}

export const STATEMENT_CSV_COLUMNS = [
  'interval_start', 'interval_end', 'block', 'contract', 'consumer', 'consumer_id', 'producer', 'producer_id',
  'price_per_kwh', 'consumed_wh', 'delivered_wh', 'value', 'paid', 'grid_wh', 'outcome', 'token',
  'price_source', 'estimated', 'exported_wh', 'sold_wh', 'grid_export_wh',
] as const;

/** A field as RFC 4180 wants it; text a spreadsheet would run as a formula is quoted with a leading '. */
export function csvField(value: string | number): string {
  let t = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(t)) t = `'${t}`;
  return /[",\r\n']/.test(t) ? `"${t.replace(/"/g, '""')}"` : t;
}

/**
 * An energy statement's row: the household in the consumer columns, its import as consumed,
 * what contracts delivered, the rest as grid_wh; its export in the last columns; outcome
 * `energy` (one interval) or `unmatched` (a gap's share on settled intervals).
 */
function energyCsvRow(s: EnergyStatement & { height: number }, ctx: CsvContext): string {
  const iso = (ms: number) => new Date(ms).toISOString();
  return [
    iso(s.interval * ctx.interval_ms),
    iso((s.interval + s.intervals) * ctx.interval_ms),
    s.height,
    '',
    csvField(ctx.nameOf(s.member)),
    s.member,
    '',
    '',
    s.price === null ? '' : formatTokens(s.price, ctx.token_decimals),
    s.import_wh,
    s.bought_wh,
    '',
    '',
    s.import_wh - s.bought_wh,
    s.unmatched ? 'unmatched' : 'energy',
    csvField(ctx.token_symbol),
    s.price === null ? '' : (s.price_source ?? 'price'),
    s.estimated ? 'yes' : '',
    s.export_wh,
    s.sold_wh,
    s.export_wh - s.sold_wh,
  ].join(',');
}

export function statementCsvRow(s: StatementRow, ctx: CsvContext): string {
  if (isEnergyStatement(s)) return energyCsvRow(s, ctx);
  const tokens = (minor: number) => formatTokens(minor, ctx.token_decimals);
  const iso = (ms: number) => new Date(ms).toISOString();
  const value = s.value_milli !== undefined ? formatMilli(s.value_milli, ctx.token_decimals) : '';
  return [
    iso(s.interval * ctx.interval_ms),
    iso((s.interval + 1) * ctx.interval_ms),
    s.height,
    s.contract,
    csvField(ctx.nameOf(s.consumer)),
    s.consumer,
    csvField(ctx.nameOf(s.producer)),
    s.producer,
    s.price === null ? '' : tokens(s.price),
    s.consumed_wh,
    s.delivered_wh,
    value,
    tokens(s.paid),
    s.grid_wh,
    s.outcome,
    csvField(ctx.token_symbol),
    s.price === null ? '' : (s.price_source ?? 'price'),
    s.estimated ? 'yes' : '',
    '',
    '',
    '',
  ].join(',');
}

/** The whole file: a header line, then one line per statement, oldest first. */
export function statementCsv(statements: readonly StatementRow[], ctx: CsvContext): string {
  return [STATEMENT_CSV_COLUMNS.join(','), ...statements.map((s) => statementCsvRow(s, ctx))].join('\n') + '\n';
}
