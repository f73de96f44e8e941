import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../src/core/budget.js';

describe('TokenBucket', () => {
  it('allows a burst, then the rate', () => {
    const b = new TokenBucket(2, 4);
    expect([1, 2, 3, 4, 5].map(() => b.take(0))).toEqual([true, true, true, true, false]);
    expect(b.take(400)).toBe(false); // 0.8 tokens
    expect(b.take(500)).toBe(true); // 1 token after 500 ms at 2/s
    expect(b.take(500)).toBe(false);
  });

  it('never holds more than the burst, and time going backwards gives nothing', () => {
    const b = new TokenBucket(10, 3);
    b.take(0, 3);
    expect(b.available(60_000)).toBe(3);
    b.take(60_000, 3);
    expect(b.available(1_000)).toBe(0);
  });

  it('a charge beyond what is left is a debt paid by waiting', () => {
    const b = new TokenBucket(1000, 1000);
    b.charge(0, 3000); // 3 KB served with 1 KB left
    expect(b.take(1000)).toBe(false); // still −1000 after a second
    expect(b.take(2001)).toBe(true);
  });

  it('refuses nonsense parameters', () => {
    expect(() => new TokenBucket(0, 1)).toThrow(RangeError);
    expect(() => new TokenBucket(1, Number.NaN)).toThrow(RangeError);
  });
});
