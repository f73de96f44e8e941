import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TestChain } from '../helpers/chain.js';
import { decodeTx, decodeTxUnverified, encodeSignedTx, TxError, CachingVerifier, type TxBody } from '../../src/core/tx.js';
import { nobleVerifier, NobleSigner } from '../../src/core/keys.js';
import { encodeCanonical } from '../../src/core/codec.js';
import { checkDisplayName, normalizeDisplayName } from '../../src/core/names.js';

const chainP = TestChain.create({ alice: 'consumer' });

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof TxError) return err.code;
    throw err;
  }
  return 'ok';
}

describe('transactions', () => {
  it('round-trips a signed transfer and gets a stable id', async () => {
    const chain = await chainP;
    const tx = chain.tx('alice', 'transfer', { to: chain.id('operator'), amount: 5, memo: 'hi' });
    const decoded = decodeTx(tx.bytes, chain.state.chain_id, nobleVerifier);
    expect(decoded.id).toBe(tx.id);
    expect(decoded.body).toEqual(tx.body);
    expect(tx.bytes.length).toBeLessThan(300);
  });

  it('rejects a wrong chain, a bad signature, a foreign key, oversize and garbage with typed errors', async () => {
    const chain = await chainP;
    const tx = chain.tx('alice', 'transfer', { to: chain.id('operator'), amount: 5, memo: '' });
    const otherChain = new Uint8Array(32).fill(7);
    expect(code(() => decodeTx(tx.bytes, otherChain, nobleVerifier))).toBe('wrong_chain');

    const forged = { body: { ...tx.body, amount: 6 } as TxBody, pub: tx.pub, sig: tx.sig };
    expect(code(() => decodeTx(encodeSignedTx(forged), chain.state.chain_id, nobleVerifier))).toBe('bad_signature');

    const mallory = NobleSigner.fromSeed('mallory');
    const stolen = { body: tx.body, pub: mallory.publicKey, sig: tx.sig };
    expect(code(() => decodeTx(encodeSignedTx(stolen), chain.state.chain_id, nobleVerifier))).toBe('bad_signature');

    expect(code(() => decodeTx(new Uint8Array(5000), chain.state.chain_id, nobleVerifier))).toBe('too_large');
    expect(code(() => decodeTx(new Uint8Array([1, 2, 3]), chain.state.chain_id, nobleVerifier))).toBe('malformed');
  });

  it('rejects unknown kinds, missing, extra and ill-typed fields', async () => {
    const chain = await chainP;
    const tx = chain.tx('alice', 'transfer', { to: chain.id('operator'), amount: 5, memo: '' });
    const variants: [Record<string, unknown>, string][] = [
      [{ ...tx.body, kind: 'steal' }, 'unknown_kind'],
      [{ ...tx.body, amount: -1 }, 'malformed'],
      [{ ...tx.body, amount: 0 }, 'malformed'],
      [{ ...tx.body, to: 'not-an-id' }, 'malformed'],
      [{ ...tx.body, extra: 1 }, 'malformed'],
      [{ ...tx.body, memo: 'x'.repeat(500) }, 'malformed'],
      [Object.fromEntries(Object.entries(tx.body).filter(([k]) => k !== 'memo')), 'malformed'],
      [{ ...tx.body, v: 2 }, 'malformed'],
      // Names on Object.prototype are not kinds or fields (own-property lookups only).
      [{ ...tx.body, kind: 'constructor' }, 'unknown_kind'],
      [{ ...tx.body, kind: 'toString' }, 'unknown_kind'],
      [{ ...tx.body, kind: '__proto__' }, 'unknown_kind'],
      [{ ...tx.body, constructor: 1 }, 'malformed'],
      [{ ...tx.body, hasOwnProperty: 'x' }, 'malformed'],
    ];
    for (const [body, want] of variants) {
      const bytes = encodeCanonical({ body: body as never, pub: tx.pub, sig: tx.sig });
      expect(code(() => decodeTxUnverified(bytes, chain.state.chain_id)), JSON.stringify(body)).toBe(want);
    }
  });

  it('every kind can be signed and decoded', async () => {
    const chain = await chainP;
    const id = chain.id('operator');
    const txs = [
      chain.tx('operator', 'admit', { member: chain.id('bob'), pub: chain.signer('bob').publicKey, role: 'producer', invite: null }),
      chain.tx('operator', 'remove', { member: id }),
      chain.tx('operator', 'promote', { member: id }),
      chain.tx('operator', 'mint', { to: id, amount: 1, ref: 'deposit 1' }),
      chain.tx('alice', 'withdraw', { amount: 1 }),
      chain.tx('operator', 'payout', { payout: 1 }),
      chain.tx('operator', 'price', { interval: 3, price: 250 }),
      chain.tx('alice', 'offer', { first_interval: 1, last_interval: 2 }),
      chain.tx('alice', 'contract', { producer: id, first_interval: 1, last_interval: 2, max_energy_wh: 10, max_price: 300, lock: 0 }),
      chain.tx('alice', 'fund', { contract: 1, amount: 1 }),
      chain.tx('alice', 'cancel', { contract: 1 }),
      chain.tx('alice', 'meter', { interval: 1, import_wh: 5, export_wh: 0 }),
      chain.tx('operator', 'admit', { member: chain.id('bob'), pub: chain.signer('bob').publicKey, role: 'producer', invite: null, name: 'Bob' }),
      chain.tx('alice', 'rename', { name: 'Alice Ö. 🌞' }),
    ];
    for (const tx of txs) expect(decodeTx(tx.bytes, chain.state.chain_id, nobleVerifier).id).toBe(tx.id);
  });

  it('never throws anything but TxError on mutated bytes', async () => {
    const chain = await chainP;
    const tx = chain.tx('alice', 'meter', { interval: 1, import_wh: 5, export_wh: 0 });
    const verifier = new CachingVerifier(nobleVerifier);
    fc.assert(
      fc.property(fc.nat(tx.bytes.length - 1), fc.integer({ min: 1, max: 255 }), (at, xor) => {
        const bytes = tx.bytes.slice();
        bytes[at]! ^= xor;
        expect(code(() => decodeTx(bytes, chain.state.chain_id, verifier))).not.toBe('ok');
      }),
      { numRuns: 300 },
    );
  });
});

describe('display names in transactions', () => {
  it('are checked on decode: 1..40 characters, trimmed, no controls or direction overrides', async () => {
    const chain = await chainP;
    const tx = chain.tx('alice', 'rename', { name: 'Alice' });
    const admit = chain.tx('operator', 'admit', { member: chain.id('bob'), pub: chain.signer('bob').publicKey, role: 'producer', invite: null });
    const decodeWith = (body: Record<string, unknown>, pub = body.kind === 'admit' ? admit.pub : tx.pub) =>
      code(() => decodeTxUnverified(encodeCanonical({ body: body as never, pub, sig: tx.sig }), chain.state.chain_id));
    const names: [unknown, string][] = [
      ['A', 'ok'],
      ['é'.repeat(40), 'ok'],
      ['🌞'.repeat(40), 'ok'], // 40 code points (80 UTF-16 units)
      ['Anna  B.', 'ok'],
      ['', 'malformed'],
      ['x'.repeat(41), 'malformed'],
      [' Alice', 'malformed'],
      ['Alice\u00a0', 'malformed'],
      ['Al\nice', 'malformed'],
      ['Al\u0000ice', 'malformed'],
      ['Al\u0085ice', 'malformed'],
      ['\u202eecilA', 'malformed'], // right-to-left override
      ['Al\u2066ice', 'malformed'],
      [7, 'malformed'],
      [null, 'malformed'],
    ];
    for (const [name, want] of names) {
      expect(decodeWith({ ...tx.body, name }), JSON.stringify(name)).toBe(want);
      expect(decodeWith({ ...admit.body, name }), `admit ${JSON.stringify(name)}`).toBe(want);
    }
    expect(decodeWith({ ...admit.body })).toBe('ok'); // admit's name is optional
    // A lone surrogate cannot cross the wire (UTF-8 turns it into U+FFFD); it is refused before signing.
    expect(checkDisplayName('Al\ud800ice')).toMatch(/control/);
    expect(decodeWith(Object.fromEntries(Object.entries(tx.body).filter(([k]) => k !== 'name')))).toBe('malformed'); // rename's is not
  });

  it('normalizeDisplayName trims and NFC-normalises what was typed, then applies the same rule', () => {
    expect(normalizeDisplayName('  Ame\u0301lie \n')).toEqual({ ok: true, name: 'Amélie' });
    expect(normalizeDisplayName('\u3000Bob\u00a0')).toEqual({ ok: true, name: 'Bob' });
    expect(normalizeDisplayName('   ')).toEqual({ ok: false, reason: 'The name must not be empty.' });
    expect(normalizeDisplayName('x'.repeat(41))).toEqual({ ok: false, reason: 'The name must be at most 40 characters.' });
    expect(normalizeDisplayName('a\tb')).toEqual({ ok: false, reason: 'The name must not hold control or direction-changing characters.' });
    for (const s of ['Bob', ' é ', 'Zoë 🌞']) {
      const r = normalizeDisplayName(s);
      expect(r.ok && checkDisplayName(r.name)).toBeNull();
    }
  });
});

describe('body bytes kept from decoding', () => {
  it('are exactly the canonical encoding of the body, for every kind', async () => {
    const { TestChain } = await import('../helpers/chain.js');
    const { bodyBytesOf, decodeTxUnverified, encodeBody } = await import('../../src/core/tx.js');
    const { toHex } = await import('../../src/core/bytes.js');
    const c = await TestChain.create({ a: 'consumer', b: 'producer' });
    const txs = [
      c.tx('operator', 'mint', { to: c.id('a'), amount: 10, ref: 'ünïcode ref' }),
      c.tx('a', 'transfer', { to: c.id('b'), amount: 1, memo: '' }),
      c.tx('b', 'meter', { interval: 5, import_wh: 0, export_wh: 123456789 }),
      c.tx('operator', 'admit', { member: c.id('d'), pub: c.signer('d').publicKey, role: 'consumer', invite: null }),
    ];
    for (const t of txs) {
      const d = decodeTxUnverified(t.bytes, c.state.chain_id);
      expect(toHex(bodyBytesOf(d.body))).toBe(toHex(encodeBody(t.body)));
      expect(d.id).toBe(t.id);
      // A body that did not come from bytes is encoded.
      expect(toHex(bodyBytesOf({ ...d.body }))).toBe(toHex(encodeBody(t.body)));
    }
  });
});

describe('attack 6: names from the wire are own properties only', () => {
  it('constructor, toString, __proto__ and friends are no kinds and no fields', async () => {
    const chain = await chainP;
    const tx = chain.tx('alice', 'transfer', { to: chain.id('operator'), amount: 5, memo: '' });
    const base = { v: 1, chain: tx.body.chain, from: tx.body.from, seq: 0 };
    for (const kind of ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf', 'isPrototypeOf']) {
      const bytes = encodeCanonical({ body: { ...base, kind } as never, pub: tx.pub, sig: tx.sig });
      expect(code(() => decodeTxUnverified(bytes, chain.state.chain_id)), kind).toBe('unknown_kind');
    }
    for (const field of ['constructor', 'toString', 'hasOwnProperty', 'valueOf']) {
      const bytes = encodeCanonical({ body: { ...tx.body, [field]: 1 } as never, pub: tx.pub, sig: tx.sig });
      expect(code(() => decodeTxUnverified(bytes, chain.state.chain_id)), field).toBe('malformed');
    }
  });
});
