// Members' display names: the rule every node checks on decode (checkDisplayName) and the
// normaliser forms call before signing (normalizeDisplayName). Pure; anyone may call them.
import { LIMITS } from './params.js';

// The consensus check must give the same verdict on every engine, so it uses fixed code
// point lists only, never the engine's Unicode tables (String#trim, \p{…}, normalize), which
// change with the engine's Unicode version (U+180E left White_Space in Unicode 6.3).
const WHITESPACE = new Set([
  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0x85, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006,
  0x2007, 0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff, 0x180e,
]);

/** Code points a name may not hold anywhere: controls, bidi overrides, separators, specials. */
function forbidden(cp: number): boolean {
  return (
    cp <= 0x1f || // C0 controls (tab, newline, …)
    (cp >= 0x7f && cp <= 0x9f) || // DEL, C1 controls
    cp === 0x061c || cp === 0x200e || cp === 0x200f || // bidi marks
    (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || // bidi embeddings, overrides, isolates
    cp === 0x2028 || cp === 0x2029 || cp === 0xfeff || // line/paragraph separators, BOM
    (cp >= 0xfff9 && cp <= 0xfffb) || cp === 0xfffe || cp === 0xffff || // annotations, non-characters
    (cp >= 0xd800 && cp <= 0xdfff) // a lone surrogate (not a well-formed string)
  );
}

function codePoints(s: string): number[] {
  const out: number[] = [];
  for (const ch of s) out.push(ch.codePointAt(0)!);
  return out;
}

/**
 * The ledger's rule for a display name, as stored and signed: a string of 1..40 code points
 * with no leading or trailing whitespace and no control, bidi-override or separator
 * characters. Returns the problem in plain words, or null when the name is fine.
 * (NFC is the signer's job, normalizeDisplayName: see docs/PROTOCOL.md for why the
 * ledger does not check it.)
 */
export function checkDisplayName(v: unknown): string | null {
  if (typeof v !== 'string') return 'must be a string';
  const cps = codePoints(v);
  if (cps.length === 0) return 'must not be empty';
  if (cps.length > LIMITS.name_max_chars) return `must be at most ${LIMITS.name_max_chars} characters`;
  if (WHITESPACE.has(cps[0]!) || WHITESPACE.has(cps[cps.length - 1]!)) return 'must not start or end with a space';
  if (cps.some(forbidden)) return 'must not hold control or direction-changing characters';
  return null;
}

export type NameResult = { ok: true; name: string } | { ok: false; reason: string };

/** What a form calls on what was typed: trims, NFC-normalises, then applies the ledger's rule. */
export function normalizeDisplayName(input: string): NameResult {
  let cps = codePoints(input.normalize('NFC'));
  while (cps.length > 0 && WHITESPACE.has(cps[0]!)) cps = cps.slice(1);
  while (cps.length > 0 && WHITESPACE.has(cps[cps.length - 1]!)) cps = cps.slice(0, -1);
  const name = String.fromCodePoint(...cps);
  const problem = checkDisplayName(name);
  return problem ? { ok: false, reason: `The name ${problem}.` } : { ok: true, name };
}
