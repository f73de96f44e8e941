import { describe, expect, it } from 'vitest';
import { NobleSigner, nobleVerifier, nodeIdOf, normalizeLowS, P256_ORDER, isNodeId } from '../../src/core/keys.js';
import { CachingVerifier } from '../../src/core/tx.js';
import { WebCryptoSigner, WebCryptoVerifier } from '../../src/node/webcrypto-signer.js';
import { utf8 } from '../../src/core/bytes.js';

describe('ECDSA P-256 keys', () => {
  it('noble signatures are deterministic (RFC 6979) and low-S', async () => {
    const signer = NobleSigner.fromSeed('alice');
    const msg = utf8('hello grid');
    const a = await signer.sign(msg);
    const b = await signer.sign(msg);
    expect(a).toEqual(b);
    expect(normalizeLowS(a)).toBe(a);
    expect(nobleVerifier.verify(signer.publicKey, msg, a)).toBe(true);
    expect(nobleVerifier.verify(signer.publicKey, utf8('hello grid!'), a)).toBe(false);
    expect(NobleSigner.fromSeed('alice').id).toBe(signer.id);
    expect(NobleSigner.fromSeed('bob').id).not.toBe(signer.id);
    expect(isNodeId(signer.id)).toBe(true);
    expect(signer.id).toBe(nodeIdOf(signer.publicKey));
  });

  it('rejects the high-S twin of a valid signature (no malleability)', () => {
    const signer = NobleSigner.fromSeed('carol');
    const msg = utf8('pay 10');
    const sig = signer.signSync(msg);
    let s = 0n;
    for (let i = 32; i < 64; i++) s = (s << 8n) | BigInt(sig[i]!);
    let high = P256_ORDER - s;
    const twin = sig.slice();
    for (let i = 63; i >= 32; i--) {
      twin[i] = Number(high & 0xffn);
      high >>= 8n;
    }
    expect(nobleVerifier.verify(signer.publicKey, msg, twin)).toBe(false);
    expect(normalizeLowS(twin)).toEqual(sig);
  });

  it('WebCrypto and noble verify each other', async () => {
    const web = await WebCryptoSigner.generate();
    const webVerifier = new WebCryptoVerifier();
    const noble = NobleSigner.fromSeed('dave');
    for (let i = 0; i < 20; i++) {
      const msg = utf8(`message ${i}`);
      const webSig = await web.sign(msg);
      expect(nobleVerifier.verify(web.publicKey, msg, webSig)).toBe(true);
      expect(await webVerifier.verify(web.publicKey, msg, webSig)).toBe(true);
      const nobleSig = await noble.sign(msg);
      expect(await webVerifier.verify(noble.publicKey, msg, nobleSig)).toBe(true);
      expect(await webVerifier.verify(noble.publicKey, utf8('other'), nobleSig)).toBe(false);
    }
  });

  it('WebCrypto private keys are not extractable', async () => {
    const web = await WebCryptoSigner.generate();
    expect(web.keyPair.privateKey.extractable).toBe(false);
    await expect(crypto.subtle.exportKey('pkcs8', web.keyPair.privateKey)).rejects.toThrow();
  });

  it('rejects malformed inputs without throwing', () => {
    const signer = NobleSigner.fromSeed('erin');
    expect(nobleVerifier.verify(new Uint8Array(33), utf8('x'), new Uint8Array(64))).toBe(false);
    expect(nobleVerifier.verify(signer.publicKey, utf8('x'), new Uint8Array(10))).toBe(false);
    expect(() => new NobleSigner(new Uint8Array(5))).toThrow(/secretKey/);
  });
});

describe('the verify cache', () => {
  const a = NobleSigner.fromSeed('cache a');
  const b = NobleSigner.fromSeed('cache b');
  const msg = utf8('a message');
  const sig = a.signSync(msg);

  it('answers from the cache only for the same key, message and signature', () => {
    const inner = { calls: 0, verify: (p: Uint8Array, m: Uint8Array, s: Uint8Array) => (inner.calls++, nobleVerifier.verify(p, m, s)) };
    const cache = new CachingVerifier(inner);
    cache.primeValid(a.publicKey, msg, sig);
    expect(cache.verify(a.publicKey, msg, sig)).toBe(true);
    expect(inner.calls).toBe(0);
    // The same signature with another message or another key is checked, and fails.
    expect(cache.verify(a.publicKey, utf8('another message'), sig)).toBe(false);
    expect(cache.verify(b.publicKey, msg, sig)).toBe(false);
    expect(inner.calls).toBe(2);
    // Buffers the caller alters later do not alter the cache.
    const mutable = msg.slice();
    const cache2 = new CachingVerifier(nobleVerifier);
    cache2.primeValid(a.publicKey, mutable, sig);
    mutable[0] = mutable[0]! ^ 1;
    expect(cache2.has(a.publicKey, msg, sig)).toBe(true);
    expect(cache2.has(a.publicKey, mutable, sig)).toBe(false);
  });

  it('is bounded by bytes, dropping the oldest first', () => {
    const cache = new CachingVerifier(nobleVerifier, 2_000);
    const sigs = Array.from({ length: 20 }, (_, i) => a.signSync(utf8(`m${i}`)));
    sigs.forEach((s, i) => cache.primeValid(a.publicKey, utf8(`m${i}`), s));
    expect(cache.has(a.publicKey, utf8('m19'), sigs[19]!)).toBe(true);
    expect(cache.has(a.publicKey, utf8('m0'), sigs[0]!)).toBe(false);
  });
});
