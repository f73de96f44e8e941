// ECDSA P-256 verification with Node's OpenSSL (node:crypto), behind the core's Verifier port
// and as an asynchronous verifier that runs on libuv's thread pool. Node only: the CLI's.
//
// Same verdicts as the core's noble verifier (keys.ts): 33-byte compressed keys, 64-byte r||s
// signatures over SHA-256 of the message, and low S only (OpenSSL accepts either S, so the
// check is made here first). About 15,000 verifications/s per core here against noble's
// ≈ 450 (docs/PERFORMANCE.md).
import { createPublicKey, verify as opensslVerify, type KeyObject } from 'node:crypto';
import { P256_ORDER, PUBLIC_KEY_BYTES, SIGNATURE_BYTES, type Verifier } from '../core/keys.js';
import type { AsyncVerifier } from './verify.js';

// SubjectPublicKeyInfo of a compressed P-256 point (RFC 5480): algorithm id-ecPublicKey with
// namedCurve prime256v1, then the 33-byte point as a BIT STRING.
const SPKI_PREFIX = Buffer.from('3039301306072a8648ce3d020106082a8648ce3d030107032200', 'hex');
const HALF_ORDER = Buffer.from((P256_ORDER >> 1n).toString(16).padStart(64, '0'), 'hex');

const keys = new Map<string, KeyObject | null>();
const KEYS_MAX = 4096;

function keyOf(publicKey: Uint8Array): KeyObject | null {
  const id = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.length).toString('latin1');
  let key = keys.get(id);
  if (key === undefined) {
    try {
      key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
    } catch {
      key = null;
    }
    if (keys.size >= KEYS_MAX) keys.clear();
    keys.set(id, key);
  }
  return key;
}

/** The shape checks noble makes before the curve arithmetic: sizes and low S. */
function admissible(publicKey: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== PUBLIC_KEY_BYTES || signature.length !== SIGNATURE_BYTES) return false;
  return Buffer.compare(Buffer.from(signature.buffer, signature.byteOffset + 32, 32), HALF_ORDER) <= 0;
}

export const opensslVerifier: Verifier = {
  verify(publicKey, message, signature) {
    if (!admissible(publicKey, signature)) return false;
    const key = keyOf(publicKey);
    if (!key) return false;
    try {
      return opensslVerify('sha256', message, { key, dsaEncoding: 'ieee-p1363' }, signature);
    } catch {
      return false;
    }
  },
};

/** The same check on libuv's thread pool (UV_THREADPOOL_SIZE threads, 4 by default). */
export const opensslAsyncVerifier: AsyncVerifier = {
  verify(publicKey, message, signature) {
    if (!admissible(publicKey, signature)) return Promise.resolve(false);
    const key = keyOf(publicKey);
    if (!key) return Promise.resolve(false);
    return new Promise((resolve) => {
      try {
        opensslVerify('sha256', message, { key, dsaEncoding: 'ieee-p1363' }, signature, (err, ok) => resolve(!err && ok));
      } catch {
        resolve(false);
      }
    });
  },
};
