import { describe, expect, it } from 'vitest';
import { NobleSigner, nobleVerifier, nodeIdOf, normalizeLowS, P256_ORDER, isNodeId } from '../../src/core/keys.js';
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
