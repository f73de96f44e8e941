// ECDSA P-256 identities. Public keys are SEC1 compressed (33 bytes); signatures are
// compact r||s (64 bytes) with low S, so each signed message has one valid signature and
// transaction ids cannot be malleated. Messages are hashed with SHA-256 by the signer
// (noble's prehash and WebCrypto's {hash: 'SHA-256'} agree).
import { p256 } from '@noble/curves/nist.js';
import { sha256 } from './hash.js';
import { toHex } from './bytes.js';

export const PUBLIC_KEY_BYTES = 33;
export const SIGNATURE_BYTES = 64;
/** Node ids are the first 20 bytes of SHA-256(compressed public key), in hex. */
export const NODE_ID_HEX_CHARS = 40;

export type NodeId = string;

export interface Signer {
  readonly publicKey: Uint8Array;
  readonly id: NodeId;
  sign(message: Uint8Array): Promise<Uint8Array>;
}

/** Synchronous verification, for the core, the simulator and tests. */
export interface Verifier {
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
}

export function nodeIdOf(publicKey: Uint8Array): NodeId {
  if (publicKey.length !== PUBLIC_KEY_BYTES) return idOf(publicKey);
  const known = knownKey(publicKey);
  return (known.id ??= idOf(publicKey));
}

function idOf(publicKey: Uint8Array): NodeId {
  return toHex(sha256(publicKey).subarray(0, NODE_ID_HEX_CHARS / 2));
}

export function isNodeId(value: unknown): value is NodeId {
  return typeof value === 'string' && value.length === NODE_ID_HEX_CHARS && /^[0-9a-f]+$/.test(value);
}

// Decompressing a key costs a modular square root and its id a hash; members are few and
// every transaction carries its key, so remember both per key.
const knownKeys = new Map<string, { valid?: boolean; id?: NodeId }>();
const KNOWN_KEYS_MAX = 4096;

function knownKey(publicKey: Uint8Array): { valid?: boolean; id?: NodeId } {
  const key = toHex(publicKey);
  let known = knownKeys.get(key);
  if (!known) {
    if (knownKeys.size >= KNOWN_KEYS_MAX) knownKeys.clear();
    knownKeys.set(key, (known = {}));
  }
  return known;
}

export function isValidPublicKey(publicKey: Uint8Array): boolean {
  if (publicKey.length !== PUBLIC_KEY_BYTES) return false;
  const known = knownKey(publicKey);
  return (known.valid ??= p256.utils.isValidPublicKey(publicKey, true));
}

/** Deterministic (RFC 6979) signer over a raw 32-byte secret; also signs synchronously. */
export class NobleSigner implements Signer {
  readonly publicKey: Uint8Array;
  readonly id: NodeId;
  readonly #secret: Uint8Array;

  constructor(secretKey: Uint8Array) {
    if (!(secretKey instanceof Uint8Array) || !p256.utils.isValidSecretKey(secretKey)) {
      throw new TypeError('NobleSigner: secretKey must be a valid 32-byte P-256 scalar');
    }
    this.#secret = secretKey;
    this.publicKey = p256.getPublicKey(secretKey, true);
    this.id = nodeIdOf(this.publicKey);
  }

  /** A key derived from a seed string: for tests and the simulator only. */
  static fromSeed(seed: string): NobleSigner {
    return new NobleSigner(p256.utils.randomSecretKey(expandSeed(seed)));
  }

  signSync(message: Uint8Array): Uint8Array {
    return p256.sign(message, this.#secret, { lowS: true });
  }

  sign(message: Uint8Array): Promise<Uint8Array> {
    return Promise.resolve(this.signSync(message));
  }
}

/** 48 bytes of seed material, as noble's randomSecretKey(seed) asks for (FIPS 186-5 A.2.1). */
function expandSeed(seed: string): Uint8Array {
  const enc = new TextEncoder();
  const a = sha256(enc.encode(`gridledger/key-seed/0/${seed}`));
  const b = sha256(enc.encode(`gridledger/key-seed/1/${seed}`));
  const out = new Uint8Array(48);
  out.set(a, 0);
  out.set(b.subarray(0, 16), 32);
  return out;
}

export const nobleVerifier: Verifier = {
  verify(publicKey, message, signature) {
    if (publicKey.length !== PUBLIC_KEY_BYTES || signature.length !== SIGNATURE_BYTES) return false;
    try {
      return p256.verify(signature, message, publicKey, { lowS: true });
    } catch {
      return false;
    }
  },
};

/** P-256 group order, for normalising WebCrypto's signatures to low S. */
export const P256_ORDER = p256.Point.CURVE().n;

export function compressPublicKey(uncompressed: Uint8Array): Uint8Array {
  return p256.Point.fromBytes(uncompressed).toBytes(true);
}

export function decompressPublicKey(compressed: Uint8Array): Uint8Array {
  return p256.Point.fromBytes(compressed).toBytes(false);
}

/** Returns r||s with s replaced by n - s when s > n/2 (the low-S form). */
export function normalizeLowS(signature: Uint8Array): Uint8Array {
  if (signature.length !== SIGNATURE_BYTES) throw new TypeError('signature must be 64 bytes r||s');
  let s = 0n;
  for (let i = 32; i < 64; i++) s = (s << 8n) | BigInt(signature[i]!);
  if (s <= P256_ORDER >> 1n) return signature;
  let low = P256_ORDER - s;
  const out = signature.slice();
  for (let i = 63; i >= 32; i--) {
    out[i] = Number(low & 0xffn);
    low >>= 8n;
  }
  return out;
}
