// Canonical encoding for everything that is hashed or signed: deterministic CBOR
// (RFC 8949 §4.2) through cborg. Values are restricted to a JSON-like model with
// byte strings and safe integers only — no floats, no undefined, no bigints, no tags —
// so each value has exactly one encoding. Decoding rejects any byte string that is not
// the canonical encoding of the value it yields (checked by re-encoding).
import { encode, decode } from 'cborg';
import { bytesEqual } from './bytes.js';

export type CanonicalValue =
  | null
  | boolean
  | number
  | string
  | Uint8Array
  | CanonicalValue[]
  | { [key: string]: CanonicalValue };

export class CodecError extends Error {
  override name = 'CodecError';
  constructor(
    readonly code: 'too_large' | 'malformed' | 'non_canonical' | 'unsupported_value',
    message: string,
  ) {
    super(message);
  }
}

/** Refuses anything outside the canonical value model; `path` names the offending field. */
function checkValue(value: unknown, path: string, depth: number): void {
  if (depth > 32) throw new CodecError('unsupported_value', `${path}: nested deeper than 32`);
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) {
      throw new CodecError('unsupported_value', `${path}: ${value} is not a safe integer`);
    }
    if (Object.is(value, -0)) throw new CodecError('unsupported_value', `${path}: negative zero`);
    return;
  }
  if (value instanceof Uint8Array) return;
  if (Array.isArray(value)) {
    value.forEach((v, i) => checkValue(v, `${path}[${i}]`, depth + 1));
    return;
  }
  if (typeof value === 'object') {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      throw new CodecError('unsupported_value', `${path}: only plain objects can be encoded`);
    }
    for (const [k, v] of Object.entries(value)) checkValue(v, `${path}.${k}`, depth + 1);
    return;
  }
  throw new CodecError('unsupported_value', `${path}: ${typeof value} cannot be encoded`);
}

export function encodeCanonical(value: CanonicalValue): Uint8Array {
  checkValue(value, '$', 0);
  return encode(value);
}

const DECODE_OPTIONS = {
  strict: true,
  rejectDuplicateMapKeys: true,
  allowIndefinite: false,
  allowUndefined: false,
  allowInfinity: false,
  allowNaN: false,
  allowBigInt: false,
  useMaps: false,
} as const;

/** Decodes canonical CBOR of at most `max_bytes`; throws CodecError otherwise. */
export function decodeCanonical(bytes: Uint8Array, max_bytes: number): CanonicalValue {
  if (!(bytes instanceof Uint8Array)) throw new CodecError('malformed', 'expected a Uint8Array');
  if (bytes.length > max_bytes) {
    throw new CodecError('too_large', `${bytes.length} bytes exceeds the limit of ${max_bytes}`);
  }
  let value: unknown;
  try {
    value = decode(bytes, DECODE_OPTIONS);
  } catch (err) {
    throw new CodecError('malformed', `not valid CBOR: ${(err as Error).message}`);
  }
  try {
    checkValue(value, '$', 0);
  } catch (err) {
    throw new CodecError('non_canonical', (err as Error).message);
  }
  // Map key order and float forms are not enforced by the decoder: re-encode and compare.
  if (!bytesEqual(encode(value), bytes)) {
    throw new CodecError('non_canonical', 'bytes are not the canonical encoding of their value');
  }
  return value as CanonicalValue;
}
