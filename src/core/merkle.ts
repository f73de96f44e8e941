// Merkle trees per RFC 6962 §2.1 over SHA-256 (verification as RFC 9162 §2.1.3.2 and
// §2.1.4.2 state it). Leaves are raw leaf data; leaf hash = SHA-256(0x00 || leaf),
// interior node = SHA-256(0x01 || left || right); a tree of n > 1 leaves splits at the
// largest power of two smaller than n. Sizes and indices are plain numbers, so the bit
// arithmetic below uses division, not 32-bit operators.
import { sha256 } from './hash.js';
import { bytesEqual } from './bytes.js';

const HASH_BYTES = 32;

export function leafHash(leaf: Uint8Array): Uint8Array {
  const buf = new Uint8Array(leaf.length + 1);
  buf[0] = 0x00;
  buf.set(leaf, 1);
  return sha256(buf);
}

export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  const buf = new Uint8Array(1 + left.length + right.length);
  buf[0] = 0x01;
  buf.set(left, 1);
  buf.set(right, 1 + left.length);
  return sha256(buf);
}

/** Largest power of two strictly smaller than n (n >= 2). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function checkIndex(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative safe integer, got ${value}`);
  }
}

/** MTH over already-hashed leaves, half-open range [from, to). */
function subtreeRoot(hashes: Uint8Array[], from: number, to: number): Uint8Array {
  const n = to - from;
  if (n === 0) return sha256(new Uint8Array(0));
  if (n === 1) return hashes[from]!;
  const k = splitPoint(n);
  return nodeHash(subtreeRoot(hashes, from, from + k), subtreeRoot(hashes, from + k, to));
}

export function merkleRootOfHashes(hashes: Uint8Array[]): Uint8Array {
  return subtreeRoot(hashes, 0, hashes.length);
}

export function merkleRoot(leaves: Uint8Array[]): Uint8Array {
  return merkleRootOfHashes(leaves.map(leafHash));
}

/** PATH(m, D[n]) of RFC 6962 §2.1.1, leaf-to-root order. */
export function inclusionProof(leaves: Uint8Array[], index: number): Uint8Array[] {
  checkIndex('index', index);
  if (index >= leaves.length) {
    throw new RangeError(`index ${index} is outside a tree of ${leaves.length} leaves`);
  }
  const hashes = leaves.map(leafHash);
  const path: Uint8Array[] = [];
  const walk = (m: number, from: number, to: number): void => {
    const n = to - from;
    if (n <= 1) return;
    const k = splitPoint(n);
    if (m < k) {
      walk(m, from, from + k);
      path.push(subtreeRoot(hashes, from + k, to));
    } else {
      walk(m - k, from + k, to);
      path.push(subtreeRoot(hashes, from, from + k));
    }
  };
  walk(index, 0, hashes.length);
  return path;
}

/** PROOF(m, D[n]) of RFC 6962 §2.1.2: proves the first size1 leaves are a prefix. */
export function consistencyProof(leaves: Uint8Array[], size1: number): Uint8Array[] {
  checkIndex('size1', size1);
  if (size1 > leaves.length) {
    throw new RangeError(`size1 ${size1} exceeds the tree size ${leaves.length}`);
  }
  if (size1 === 0 || size1 === leaves.length) return [];
  const hashes = leaves.map(leafHash);
  const proof: Uint8Array[] = [];
  const subproof = (m: number, from: number, to: number, complete: boolean): void => {
    const n = to - from;
    if (m === n) {
      if (!complete) proof.push(subtreeRoot(hashes, from, to));
      return;
    }
    const k = splitPoint(n);
    if (m <= k) {
      subproof(m, from, from + k, complete);
      proof.push(subtreeRoot(hashes, from + k, to));
    } else {
      subproof(m - k, from + k, to, false);
      proof.push(subtreeRoot(hashes, from, from + k));
    }
  };
  subproof(size1, 0, hashes.length, true);
  return proof;
}

const isOdd = (x: number): boolean => x % 2 === 1;
const half = (x: number): number => Math.floor(x / 2);
function isPowerOfTwo(x: number): boolean {
  while (x > 1 && !isOdd(x)) x = half(x);
  return x === 1;
}

function wellFormed(hashes: Uint8Array[]): boolean {
  return hashes.every((h) => h instanceof Uint8Array && h.length === HASH_BYTES);
}

export function verifyInclusion(
  leafHashValue: Uint8Array,
  index: number,
  treeSize: number,
  proof: Uint8Array[],
  root: Uint8Array,
): boolean {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(treeSize)) return false;
  if (index < 0 || index >= treeSize) return false;
  if (!Array.isArray(proof) || !wellFormed([leafHashValue, root, ...proof])) return false;
  let fn = index;
  let sn = treeSize - 1;
  let r = leafHashValue;
  for (const p of proof) {
    if (sn === 0) return false;
    if (isOdd(fn) || fn === sn) {
      r = nodeHash(p, r);
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && bytesEqual(r, root);
}

/**
 * A consistency proof from the empty tree proves nothing, so size1 = 0 is rejected
 * (as the RFC 6962 test vectors expect), even when size2 is 0 too.
 */
export function verifyConsistency(
  size1: number,
  size2: number,
  proof: Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
): boolean {
  if (!Number.isSafeInteger(size1) || !Number.isSafeInteger(size2)) return false;
  if (size1 <= 0 || size2 < size1) return false;
  if (!Array.isArray(proof)) return false;
  if (size1 === size2) return proof.length === 0 && bytesEqual(root1, root2);
  if (!wellFormed([root1, root2, ...proof])) return false;
  if (proof.length === 0) return false;
  let path = proof;
  // When size1 is a power of two, the old root is itself a node of the new tree.
  if (isPowerOfTwo(size1)) path = [root1, ...proof];
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (isOdd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (isOdd(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (!isOdd(fn)) {
        while (!isOdd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  return sn === 0 && bytesEqual(fr, root1) && bytesEqual(sr, root2);
}

/**
 * All levels of one tree, for many inclusion proofs at O(log n) each (inclusionProof rehashes
 * the whole tree per call). RFC 6962's split at the largest power of two below n is the same
 * tree as pairing nodes level by level and carrying an odd last node up unchanged.
 */
export class MerkleLevels {
  readonly #levels: Uint8Array[][];

  constructor(leafHashes: Uint8Array[]) {
    this.#levels = [leafHashes.slice()];
    let level = this.#levels[0]!;
    while (level.length > 1) {
      const up: Uint8Array[] = [];
      for (let i = 0; i + 1 < level.length; i += 2) up.push(nodeHash(level[i]!, level[i + 1]!));
      if (level.length % 2 === 1) up.push(level[level.length - 1]!);
      this.#levels.push(up);
      level = up;
    }
  }

  get size(): number {
    return this.#levels[0]!.length;
  }

  root(): Uint8Array {
    return this.size === 0 ? sha256(new Uint8Array(0)) : this.#levels[this.#levels.length - 1]![0]!;
  }

  /** PATH(index, D[size]) of RFC 6962 §2.1.1, leaf-to-root order (as inclusionProof). */
  inclusion(index: number): Uint8Array[] {
    checkIndex('index', index);
    if (index >= this.size) throw new RangeError(`index ${index} is outside a tree of ${this.size} leaves`);
    const path: Uint8Array[] = [];
    let m = index;
    for (let k = 0; k < this.#levels.length - 1; k++) {
      const level = this.#levels[k]!;
      const sibling = m % 2 === 1 ? m - 1 : m + 1;
      if (sibling < level.length) path.push(level[sibling]!);
      m = Math.floor(m / 2);
    }
    return path;
  }
}
