import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeCanonical, encodeCanonical, CodecError, type CanonicalValue } from '../../src/core/codec.js';
import { fromHex, toHex } from '../../src/core/bytes.js';

const value: fc.Arbitrary<CanonicalValue> = fc.letrec((tie) => ({
  any: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.maxSafeInteger(),
    fc.string(),
    fc.uint8Array({ maxLength: 40 }),
    fc.array(tie('any'), { maxLength: 5 }),
    fc.dictionary(fc.string({ maxLength: 8 }), tie('any'), { maxKeys: 5 }),
  ),
})).any as fc.Arbitrary<CanonicalValue>;

describe('canonical CBOR codec', () => {
  it('round-trips any value in the model, and encoding is deterministic', () => {
    fc.assert(
      fc.property(value, (v) => {
        const bytes = encodeCanonical(v);
        expect(decodeCanonical(bytes, 1 << 20)).toEqual(v);
        expect(encodeCanonical(decodeCanonical(bytes, 1 << 20))).toEqual(bytes);
      }),
      { numRuns: 300 },
    );
  });

  it('orders map keys canonically whatever the insertion order', () => {
    expect(toHex(encodeCanonical({ b: 1, a: 2, aa: 3 }))).toBe(toHex(encodeCanonical({ aa: 3, a: 2, b: 1 })));
  });

  it('refuses floats, undefined, bigints, -0 and class instances on encode', () => {
    for (const bad of [1.5, NaN, Infinity, -0, 2 ** 60, undefined, 10n, new Date(0), new Map()]) {
      expect(() => encodeCanonical({ x: bad } as never)).toThrow(CodecError);
    }
  });

  it('rejects non-canonical bytes: non-minimal ints, unsorted keys, floats, indefinite lengths', () => {
    const cases: [string, string][] = [
      ['1801', 'integer 1 in two bytes'],
      ['a2616201616102', 'map {b:1, a:2} with unsorted keys'],
      ['f93c00', 'half float 1.0'],
      ['9f01ff', 'indefinite-length array'],
      ['a261610161610a', 'duplicate key'],
      ['c11a00000000', 'tagged value'],
      ['f7', 'undefined'],
      ['1bffffffffffffffff', 'integer beyond 2^53'],
      ['0102', 'trailing bytes'],
      ['62', 'truncated string'],
    ];
    for (const [hex, why] of cases) {
      expect(() => decodeCanonical(fromHex(hex), 1024), why).toThrow(CodecError);
    }
  });

  it('enforces the size limit before decoding', () => {
    const big = encodeCanonical('x'.repeat(2000));
    expect(() => decodeCanonical(big, 1000)).toThrow(/exceeds the limit/);
  });

  it('never throws anything but CodecError on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          decodeCanonical(bytes, 1024);
        } catch (err) {
          expect(err).toBeInstanceOf(CodecError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
