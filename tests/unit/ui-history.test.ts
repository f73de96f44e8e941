// The household's readable history (src/ui/history.ts): meter readings and contract payments
// summarised in runs, failed rows with a reason and no amount.
import { describe, expect, it } from 'vitest';
import { historyRows } from '../../src/ui/history.js';
import type { WalletEntry } from '../../src/node/types.js';

const e = (height: number, kind: string, extra: Partial<WalletEntry> = {}): WalletEntry => ({
  height, time_ms: height * 1000, kind, counterparty: null, amount: null, asked: null, ok: true, code: null, reason: null, ...extra,
});

describe('historyRows', () => {
  it('summarises readings and payments across each other, and keeps other rows apart', () => {
    const newestFirst = [
      e(9, 'meter'),
      e(8, 'contract_payment', { contract: 1, amount: -2, energy_wh: 7, counterparty: 'p' }),
      e(7, 'meter'),
      e(6, 'contract_payment', { contract: 1, amount: -1, energy_wh: 6, counterparty: 'p' }),
      e(5, 'meter', { ok: false, code: 'reading_stale' }),
      e(4, 'contract', { amount: -1000, counterparty: 'p' }),
      e(3, 'meter'),
    ];
    const rows = historyRows(newestFirst, (wh) => `${wh} Wh`);
    expect(rows.map((r) => r.title)).toEqual(['3 meter readings sent', 'Energy bought (contract 1)', 'Contract signed', 'Meter reading sent']);
    expect(rows[0]!.detail).toBe('1 not accepted');
    expect(rows[0]!.failed).toBe(false);
    expect(rows[1]).toMatchObject({ amount: -3, detail: '13 Wh over 2 intervals', first_ms: 6000, last_ms: 8000 });
  });

  it('a failed transaction shows its reason in words and no amount', () => {
    const [row] = historyRows([e(3, 'withdraw', { ok: false, code: 'insufficient_funds', asked: 60_000, amount: null })], (wh) => `${wh} Wh`);
    expect(row).toMatchObject({ title: 'Withdrawal', failed: true, amount: null, reason: 'the balance was not enough', detail: 'nothing moved' });
  });
});
