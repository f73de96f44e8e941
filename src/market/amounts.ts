// Token amounts as people type and read them, exactly: minor units (integers) to and from
// decimal text with the grid's token_decimals. Pure; the forms, views and verdicts call it.
// The same functions and signatures as core/money.ts on the exact-money branch.
import { LIMITS } from '../core/params.js';

export type AmountErrorCode = 'empty' | 'not_a_number' | 'negative' | 'too_many_decimals' | 'zero' | 'too_large';
export type ParsedAmount = { ok: true; minor: number } | { ok: false; code: AmountErrorCode; reason: string };
export interface ParseOptions {
  allow_zero?: boolean;
  max_minor?: number;
  symbol?: string;
}

/** Minor units as a decimal string with exactly `decimals` digits: 12345, 2 -> "123.45". */
export function formatTokens(minor: number, decimals: number, symbol?: string): string {
  if (!Number.isSafeInteger(minor)) throw new RangeError(`minor must be a safe integer, got ${minor}`);
  const digits = String(Math.abs(minor)).padStart(decimals + 1, '0');
  const text = `${minor < 0 ? '-' : ''}${decimals === 0 ? digits : `${digits.slice(0, -decimals)}.${digits.slice(-decimals)}`}`;
  return symbol ? `${text} ${symbol}` : text;
}

/** An exact value in thousandths of a minor unit as tokens, with as many digits as it needs (36, 2 -> "0.00036"). */
export function formatMilli(value_milli: number, decimals: number, symbol?: string): string {
  if (!Number.isSafeInteger(value_milli)) throw new RangeError(`value_milli must be a safe integer, got ${value_milli}`);
  const scale = decimals + 3;
  const digits = String(Math.abs(value_milli)).padStart(scale + 1, '0');
  let frac = digits.slice(-scale);
  while (frac.length > decimals && frac.endsWith('0')) frac = frac.slice(0, -1);
  const text = `${value_milli < 0 ? '-' : ''}${digits.slice(0, -scale)}${frac ? `.${frac}` : ''}`;
  return symbol ? `${text} ${symbol}` : text;
}

/**
 * What a person typed as an amount of tokens, in minor units, exactly ("12.5" with 2
 * decimals is 1250). Refuses empty or non-numeric text, signs, exponents, separators, more
 * decimals than the token has, zero (unless allowed) and amounts above the limit.
 */
export function parseTokens(text: string, decimals: number, opts: ParseOptions = {}): ParsedAmount {
  const unit = opts.symbol ?? 'tokens';
  const fail = (code: AmountErrorCode, reason: string): ParsedAmount => ({ ok: false, code, reason });
  let t = typeof text === 'string' ? text.trim() : '';
  if (t === '') return fail('empty', `Enter an amount in ${unit}.`);
  if (t.length > 64) return fail('too_large', 'That amount is far too large.');
  if (opts.symbol && t.toUpperCase().endsWith(opts.symbol.toUpperCase())) t = t.slice(0, -opts.symbol.length).trim();
  if (t.startsWith('-')) return fail('negative', 'The amount cannot be negative.');
  if (t.includes(',')) return fail('not_a_number', 'Use a point for decimals (12.50), without thousands separators.');
  const m = /^(\d*)(?:\.(\d*))?$/.exec(t);
  if (!m || (m[1] === '' && (m[2] ?? '') === '')) return fail('not_a_number', `"${t}" is not an amount: type a number like 12.50.`);
  let frac = m[2] ?? '';
  while (frac.length > decimals && frac.endsWith('0')) frac = frac.slice(0, -1);
  if (frac.length > decimals) return fail('too_many_decimals', decimals === 0 ? `Amounts in ${unit} are whole numbers.` : `Amounts in ${unit} have at most ${decimals} decimals.`);
  const minor = BigInt(m[1] || '0') * 10n ** BigInt(decimals) + BigInt(frac.padEnd(decimals, '0') || '0');
  const max = BigInt(opts.max_minor ?? LIMITS.amount_max);
  if (minor > max) return fail('too_large', `The amount is above the limit of ${formatTokens(Number(max), decimals, opts.symbol)}.`);
  if (minor === 0n && !opts.allow_zero) return fail('zero', 'The amount must be more than zero.');
  return { ok: true, minor: Number(minor) };
}

export type ParsedCount = { ok: true; value: number } | { ok: false; code: 'empty' | 'not_a_number' | 'negative' | 'too_small' | 'too_large'; reason: string };

/** A whole number typed in a form (Wh, a count of intervals): digits only, within min..max. */
export function parseWholeNumber(text: string, opts: { min: number; max: number; unit: string }): ParsedCount {
  const t = typeof text === 'string' ? text.trim() : '';
  if (t === '') return { ok: false, code: 'empty', reason: `Enter a number of ${opts.unit}.` };
  if (t.startsWith('-')) return { ok: false, code: 'negative', reason: 'The number cannot be negative.' };
  if (!/^\d+$/.test(t)) return { ok: false, code: 'not_a_number', reason: `"${t}" is not a whole number of ${opts.unit}.` };
  const value = t.length > 16 ? Infinity : Number(t);
  if (value < opts.min) return { ok: false, code: 'too_small', reason: `At least ${opts.min} ${opts.unit}.` };
  if (value > opts.max) return { ok: false, code: 'too_large', reason: `At most ${opts.max} ${opts.unit}.` };
  return { ok: true, value };
}
