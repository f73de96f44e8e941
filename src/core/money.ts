// Token amounts as people type and read them, exactly: minor units (integers) to and from
// decimal text with the grid's `token_decimals` (params.ts). Pure; for forms, views, messages.
import { LIMITS } from './params.js';

export type AmountErrorCode = 'empty' | 'not_a_number' | 'negative' | 'too_many_decimals' | 'zero' | 'too_large';

export type ParsedAmount = { ok: true; minor: number } | { ok: false; code: AmountErrorCode; reason: string };

export interface ParseOptions {
  /** Accept 0 (default false: an amount of nothing is refused). */
  allow_zero?: boolean;
  /** Largest amount accepted, in minor units (default LIMITS.amount_max). */
  max_minor?: number;
  /** The token symbol, accepted after the number ("12.50 GT") and named in messages. */
  symbol?: string;
}

function checkDecimals(decimals: number): void {
  if (!Number.isSafeInteger(decimals) || decimals < 0 || decimals > 6) throw new RangeError(`decimals must be an integer in 0..6, got ${decimals}`);
}

/** Minor units as a decimal string with exactly `decimals` digits: 12345, 2 -> "123.45". */
export function formatTokens(minor: number, decimals: number, symbol?: string): string {
  checkDecimals(decimals);
  if (!Number.isSafeInteger(minor)) throw new RangeError(`minor must be a safe integer, got ${minor}`);
  const text = `${minor < 0 ? '-' : ''}${decimalText(String(Math.abs(minor)), decimals, decimals)}`;
  return symbol ? `${text} ${symbol}` : text;
}

/**
 * An exact value in thousandths of a minor unit (a Statement's value_milli) as tokens, with
 * as many digits as it needs and at least `decimals`: 36 milli, 2 -> "0.00036".
 */
export function formatMilli(value_milli: number, decimals: number, symbol?: string): string {
  checkDecimals(decimals);
  if (!Number.isSafeInteger(value_milli)) throw new RangeError(`value_milli must be a safe integer, got ${value_milli}`);
  const text = `${value_milli < 0 ? '-' : ''}${decimalText(String(Math.abs(value_milli)), decimals + 3, decimals)}`;
  return symbol ? `${text} ${symbol}` : text;
}

/** `digits` (an unsigned integer) divided by 10^scale, with trailing zeros trimmed down to `keep`. */
function decimalText(digits: string, scale: number, keep: number): string {
  if (scale === 0) return digits;
  const padded = digits.padStart(scale + 1, '0');
  const whole = padded.slice(0, -scale);
  let frac = padded.slice(-scale);
  while (frac.length > keep && frac.endsWith('0')) frac = frac.slice(0, -1);
  return frac.length > 0 ? `${whole}.${frac}` : whole;
}

const NUMBER = /^(\d*)(?:\.(\d*))?$/; // ASCII digits only (no u flag: \d is [0-9])
const INPUT_MAX_CHARS = 64;

/**
 * Parses what a person typed as an amount of tokens into minor units, exactly: "12.5" with
 * 2 decimals is 1250. Refuses empty or non-numeric text, signs, exponents, separators,
 * more decimals than the token has (unless they are zeros), zero (unless allowed) and
 * amounts above the limit, each with a typed code and a sentence for the form.
 */
export function parseTokens(text: string, decimals: number, opts: ParseOptions = {}): ParsedAmount {
  checkDecimals(decimals);
  const unit = opts.symbol ?? 'tokens';
  const fail = (code: AmountErrorCode, reason: string): ParsedAmount => ({ ok: false, code, reason });
  let t = typeof text === 'string' ? text.trim() : '';
  if (t === '') return fail('empty', `Enter an amount in ${unit}.`);
  if (t.length > INPUT_MAX_CHARS) return fail('too_large', 'That amount is far too large.');
  if (opts.symbol && t.toUpperCase().endsWith(opts.symbol.toUpperCase())) t = t.slice(0, -opts.symbol.length).trim();
  if (t.startsWith('-')) return fail('negative', 'The amount cannot be negative.');
  if (t.includes(',')) return fail('not_a_number', 'Use a point for decimals (12.50), without thousands separators.');
  const m = NUMBER.exec(t);
  if (!m || (m[1] === '' && (m[2] ?? '') === '')) return fail('not_a_number', `"${text.trim()}" is not an amount: type a number like 12.50.`);
  const whole = m[1] || '0';
  let frac = m[2] ?? '';
  while (frac.length > decimals && frac.endsWith('0')) frac = frac.slice(0, -1);
  if (frac.length > decimals) {
    return fail('too_many_decimals', decimals === 0 ? `Amounts in ${unit} are whole numbers.` : `Amounts in ${unit} have at most ${decimals} decimals (like ${formatTokens(1250, decimals)}).`);
  }
  const minor = BigInt(whole) * 10n ** BigInt(decimals) + BigInt(frac.padEnd(decimals, '0') || '0');
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
