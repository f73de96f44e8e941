// The node's verdict before signing (src/core/preflight.ts): what the ledger would answer, in
// plain words, without changing the state; and the exact token amounts the forms parse.
import { describe, expect, it } from 'vitest';
import { TestChain } from '../helpers/chain.js';
import { preflight } from '../../src/core/preflight.js';
import { formatTokens, parseTokens, parseWholeNumber } from '../../src/core/money.js';
import { stateRoot } from '../../src/core/ledger.js';
import { toHex } from '../../src/core/bytes.js';
import type { TxBody } from '../../src/core/tx.js';

const MIN = 60_000;

async function market() {
  const c = await TestChain.create({ alice: 'consumer', bob: 'producer' }, {}, 10 * MIN);
  c.block([c.tx('operator', 'mint', { to: c.id('alice'), amount: 10_000, ref: 'd' }), c.tx('bob', 'offer', { first_interval: 11, last_interval: 30 })], 10 * MIN + 1);
  return c;
}

const body = (c: TestChain, name: string, fields: Record<string, unknown>): TxBody =>
  ({ v: 1, chain: c.state.chain_id, from: c.id(name), seq: c.state.members.get(c.id(name))!.seq, ...fields }) as unknown as TxBody;

describe('preflight as the forms use it', () => {
  it('refuses a contract locking more than the balance, in tokens, and changes nothing', async () => {
    const c = await market();
    const before = toHex(stateRoot(c.state));
    const v = preflight(c.state, body(c, 'alice', { kind: 'contract', producer: c.id('bob'), first_interval: 11, last_interval: 20, max_energy_wh: 5000, max_price: 50, lock: 50_000 }), { at_ms: 10 * MIN + 2 });
    expect(v).toMatchObject({ ok: false, code: 'insufficient_funds', reason: 'Your balance is 100.00 GT, the contract needs 500.00 GT.' });
    expect(toHex(stateRoot(c.state))).toBe(before);
  });

  it('refuses a period past the offer and a second contract; accepts a good one', async () => {
    const c = await market();
    const terms = { kind: 'contract', producer: c.id('bob'), first_interval: 11, max_energy_wh: 5000, max_price: 50, lock: 2000 };
    expect(preflight(c.state, body(c, 'alice', { ...terms, last_interval: 40 })).ok).toBe(false);
    expect(preflight(c.state, body(c, 'alice', { ...terms, last_interval: 40 }))).toMatchObject({ code: 'no_offer' });
    const good = body(c, 'alice', { ...terms, last_interval: 20 });
    expect(preflight(c.state, good)).toEqual({ ok: true, warnings: [] });
    // With that one pending, a second is refused: one contract at a time.
    const second = { ...body(c, 'alice', { ...terms, last_interval: 20 }), seq: good.seq + 1 } as TxBody;
    expect(preflight(c.state, second, { pending: [good] })).toMatchObject({ ok: false, code: 'contract_exists' });
  });

  it('refuses a withdrawal above the balance and a malformed field', async () => {
    const c = await market();
    expect(preflight(c.state, body(c, 'alice', { kind: 'withdraw', amount: 10_001 }))).toMatchObject({ ok: false, code: 'insufficient_funds', reason: 'Your balance is 100.00 GT; you asked to withdraw 100.01 GT.' });
    expect(preflight(c.state, body(c, 'alice', { kind: 'withdraw', amount: 0 }))).toMatchObject({ ok: false, code: 'malformed' });
  });
});

describe('token amounts typed in forms', () => {
  it('parse exactly, refuse nonsense, format back', () => {
    expect(parseTokens('12.5', 2)).toEqual({ ok: true, minor: 1250 });
    expect(parseTokens('0.07', 2)).toEqual({ ok: true, minor: 7 });
    expect(parseTokens('500.50 GT', 2, { symbol: 'GT' })).toEqual({ ok: true, minor: 50050 });
    for (const bad of ['', '  ', 'abc', '-3', '1e3', '1,5', '1.234', '0', '.']) expect(parseTokens(bad, 2).ok, bad).toBe(false);
    expect(parseTokens('0', 2, { allow_zero: true })).toEqual({ ok: true, minor: 0 });
    expect(formatTokens(50050, 2, 'GT')).toBe('500.50 GT');
    expect(formatTokens(-7, 2)).toBe('-0.07');
    expect(formatTokens(5, 0)).toBe('5');
    for (const bad of ['', '0', '-3', 'abc', '1000000000', '2.5']) expect(parseWholeNumber(bad, { min: 1, max: 10_080, unit: 'intervals' }).ok, bad).toBe(false);
    expect(parseWholeNumber('40', { min: 1, max: 10_080, unit: 'intervals' })).toEqual({ ok: true, value: 40 });
  });
});

describe('statements as CSV', async () => {
  const { statementCsv, csvField } = await import('../../src/market/statement-csv.js');
  it('has ISO times, names and tokens; quotes hostile names', () => {
    const s = { interval: 28_000_000, contract: 3, consumer: 'a'.repeat(40), producer: 'b'.repeat(40), price: 18, consumed_wh: 9, available_wh: 40, delivered_wh: 9, paid: 0, grid_wh: 0, outcome: 'settled' as const, height: 12, value_milli: 162, rounding: 0 };
    const csv = statementCsv([s], { interval_ms: 60_000, token_decimals: 2, token_symbol: 'GT', nameOf: (id) => (id.startsWith('a') ? 'Alice, "A"' : '=HYPERLINK()') });
    const [head, row] = csv.trim().split('\n');
    expect(head).toBe('interval_start,interval_end,block,contract,consumer,consumer_id,producer,producer_id,price_per_kwh,consumed_wh,delivered_wh,value,paid,grid_wh,outcome,token,price_source,estimated,exported_wh,sold_wh,grid_export_wh');
    expect(row).toBe(`2023-03-28T10:40:00.000Z,2023-03-28T10:41:00.000Z,12,3,"Alice, ""A""",${'a'.repeat(40)},"'=HYPERLINK()",${'b'.repeat(40)},0.18,9,9,0.00162,0.00,0,settled,GT,price,,,,`);
    expect(csvField('plain')).toBe('plain');
  });
});
