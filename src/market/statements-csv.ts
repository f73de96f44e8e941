// Settlement statements as CSV: one header line and one row per statement, the same bytes in
// the app's "Export CSV" (Market.svelte) and in `npm run verify -- --household ID --csv`. Pure.
import type { NodeId } from '../core/keys.js';
import type { Statement } from '../core/settlement.js';

export type StatementAt = Statement & { height: number };

export const STATEMENT_CSV_HEADER = 'height,interval,contract,consumer,producer,price,consumed_wh,available_wh,delivered_wh,paid,grid_wh,outcome';

/** One row; a statement without a price has an empty price cell. No field needs quoting. */
export function statementCsvRow(s: StatementAt): string {
  return [s.height, s.interval, s.contract, s.consumer, s.producer, s.price ?? '', s.consumed_wh, s.available_wh, s.delivered_wh, s.paid, s.grid_wh, s.outcome].join(',');
}

/** The whole file: header, rows in the order given, a final newline. */
export function statementsCsv(statements: readonly StatementAt[]): string {
  return [STATEMENT_CSV_HEADER, ...statements.map(statementCsvRow)].join('\n') + '\n';
}

/** A household's statements as the app lists them: as consumer or producer; the operator sees all. */
export function isHouseholdStatement(s: Statement, household: NodeId, isOperator: boolean): boolean {
  return isOperator || s.consumer === household || s.producer === household;
}
