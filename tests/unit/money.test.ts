// Token amounts typed and shown: exact conversion between decimal text and minor units.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { formatMilli, formatTokens, parseTokens, parseWholeNumber } from '../../src/core/money.js';

describe('formatTokens / formatMilli', () => {
  it('shows minor units with the token decimals, exactly', () => {
    expect(formatTokens(10_000, 2, 'GT')).toBe('100.00 GT');
    expect(formatTokens(5, 2)).toBe('0.05');
    expect(formatTokens(-1234, 2)).toBe('-12.34');
    expect(formatTokens(0, 0, 'GT')).toBe('0 GT');
    expect(formatTokens(1, 6)).toBe('0.000001');
    expect(formatTokens(Number.MAX_SAFE_INTEGER, 2)).toBe('90071992547409.91');
    expect(() => formatTokens(1.5, 2)).toThrow(RangeError);
    expect(() => formatTokens(1, 7)).toThrow(RangeError);
  });

  it('shows an exact value in thousandths of a minor unit with the digits it needs', () => {
    expect(formatMilli(36, 2, 'GT')).toBe('0.00036 GT'); // 2 Wh at 18 per kWh
    expect(formatMilli(180, 2)).toBe('0.0018');
    expect(formatMilli(4500, 2)).toBe('0.045');
    expect(formatMilli(1000, 2)).toBe('0.01');
    expect(formatMilli(0, 2)).toBe('0.00');
    expect(formatMilli(123_456_789, 0)).toBe('123456.789');
  });
});

describe('parseTokens', () => {
  it('converts typed tokens to minor units exactly', () => {
    const ok: [string, number, number][] = [
      ['100', 2, 10_000],
      ['100.5', 2, 10_050],
      ['  0.07 ', 2, 7],
      ['.5', 2, 50],
      ['5.', 2, 500],
      ['1.500', 2, 150], // trailing zeros are exact
      ['12.50 GT', 2, 1250],
      ['12.50gt', 2, 1250],
      ['7', 0, 7],
      ['0.000001', 6, 1],
      ['10000000000', 2, 1_000_000_000_000],
    ];
    for (const [text, d, minor] of ok) expect(parseTokens(text, d, { symbol: 'GT' }), text).toEqual({ ok: true, minor });
  });

  it('refuses empty, non-numeric, negative, too precise, zero and too large input, with a reason', () => {
    const bad: [string, string][] = [
      ['', 'empty'],
      ['   ', 'empty'],
      ['abc', 'not_a_number'],
      ['.', 'not_a_number'],
      ['1e3', 'not_a_number'],
      ['0x10', 'not_a_number'],
      ['+5', 'not_a_number'],
      ['1 000', 'not_a_number'],
      ['1,5', 'not_a_number'],
      ['1.2.3', 'not_a_number'],
      ['١٢', 'not_a_number'], // Arabic-Indic digits
      ['Infinity', 'not_a_number'],
      ['-5', 'negative'],
      ['1.505', 'too_many_decimals'],
      ['0', 'zero'],
      ['0.00', 'zero'],
      ['10000000000.01', 'too_large'],
      ['9'.repeat(80), 'too_large'],
    ];
    for (const [text, code] of bad) {
      const r = parseTokens(text, 2, { symbol: 'GT' });
      expect(r.ok, text).toBe(false);
      if (!r.ok) {
        expect(r.code, text).toBe(code);
        expect(r.reason.length).toBeGreaterThan(5);
      }
    }
    expect(parseTokens('1.505', 2, { symbol: 'GT' })).toMatchObject({ reason: 'Amounts in GT have at most 2 decimals (like 12.50).' });
    expect(parseTokens('0', 2, { allow_zero: true })).toEqual({ ok: true, minor: 0 });
    expect(parseTokens('5', 2, { max_minor: 100 })).toMatchObject({ ok: false, code: 'too_large' });
  });

  it('round-trips every amount: parse(format(x)) = x', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000_000_000 }), fc.integer({ min: 0, max: 6 }), (minor, d) => {
        expect(parseTokens(formatTokens(minor, d, 'GT'), d, { symbol: 'GT', max_minor: Number.MAX_SAFE_INTEGER })).toEqual({ ok: true, minor });
      }),
      { numRuns: 500 },
    );
  });
});

describe('parseWholeNumber', () => {
  it('takes digits only, within bounds', () => {
    const o = { min: 1, max: 44_640, unit: 'intervals' };
    expect(parseWholeNumber(' 60 ', o)).toEqual({ ok: true, value: 60 });
    expect(parseWholeNumber('', o)).toMatchObject({ ok: false, code: 'empty' });
    expect(parseWholeNumber('-3', o)).toMatchObject({ ok: false, code: 'negative' });
    expect(parseWholeNumber('0', o)).toMatchObject({ ok: false, code: 'too_small' });
    expect(parseWholeNumber('1000000000', o)).toMatchObject({ ok: false, code: 'too_large' });
    expect(parseWholeNumber('9'.repeat(30), o)).toMatchObject({ ok: false, code: 'too_large' });
    expect(parseWholeNumber('2.5', o)).toMatchObject({ ok: false, code: 'not_a_number' });
    expect(parseWholeNumber('abc', o)).toMatchObject({ ok: false, code: 'not_a_number' });
  });
});
