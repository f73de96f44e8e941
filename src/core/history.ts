// The history tree: an RFC 6962 tree whose leaf i is the hash of the block at height i,
// leaf 0 being the chain id (the genesis' hash). Used by the ledger, the replica and the auditor.
//
// A block header at height h (block_version 2) carries `history`, the root of the tree over
// leaves 0..h-1: the genesis and every block before it. Leaf index = height, the tree is
// never empty (an RFC 6962 consistency proof from the empty tree proves nothing), and the
// newest leaf a header commits to is its own `prev`. Anyone holding a certified header at
// height h can check, with O(log h) hashes, that a block hash is the one at height k < h
// (inclusion) and that a later certified header's tree extends it (consistency).
//
// The tree is kept as a frontier (a compact range): the roots of the perfect subtrees that
// make up the tree of `size` leaves, largest first, one per set bit of `size`. Appending a
// leaf merges equal subtrees like a binary counter; the root folds the frontier from the
// right (RFC 6962 §2.1 splits n leaves at the largest power of two below n, which is the
// frontier's first subtree).
import { sha256 } from './hash.js';
import { bytesEqual, toHex } from './bytes.js';
import { consistencyProof, inclusionProof, leafHash, nodeHash, verifyConsistency, verifyInclusion } from './merkle.js';
import type { GridParams } from './params.js';

/** Roots of the perfect subtrees of the tree over leaves [0, size), largest first. */
export type Frontier = Uint8Array[];

export class HistoryError extends Error {
  override name = 'HistoryError';
}

function popcount(n: number): number {
  let c = 0;
  for (let x = n; x > 0; x = Math.floor(x / 2)) c += x % 2;
  return c;
}

/** The frontier of a tree of `size` leaves has one subtree per set bit of `size`. */
export function frontierFits(frontier: Frontier, size: number): boolean {
  return Number.isSafeInteger(size) && size >= 0 && frontier.length === popcount(size) && frontier.every((h) => h instanceof Uint8Array && h.length === 32);
}

/** The tree with the genesis alone: leaf 0 = the chain id. */
export function genesisFrontier(chainId: Uint8Array): Frontier {
  return [leafHash(chainId)];
}

/** Appends one leaf (a 32-byte block hash) to a tree of `size` leaves; returns a new frontier. */
export function frontierAppend(frontier: Frontier, size: number, leaf: Uint8Array): Frontier {
  if (!frontierFits(frontier, size)) throw new HistoryError(`frontier does not fit a tree of ${size} leaves`);
  const out = frontier.slice();
  let node = leafHash(leaf);
  // Each trailing 1 bit of size is a perfect subtree as large as what is being carried.
  for (let s = size; s % 2 === 1; s = Math.floor(s / 2)) node = nodeHash(out.pop()!, node);
  out.push(node);
  return out;
}

/** MTH of the tree the frontier describes (SHA-256 of nothing for the empty tree). */
export function frontierRoot(frontier: Frontier): Uint8Array {
  if (frontier.length === 0) return sha256(new Uint8Array(0));
  let root = frontier[frontier.length - 1]!;
  for (let i = frontier.length - 2; i >= 0; i--) root = nodeHash(frontier[i]!, root);
  return root;
}

/** 1: headers without a history root (grids made before it); 2: headers carry `history`. */
export function blockVersionOf(params: GridParams): 1 | 2 {
  return params.block_version === 2 ? 2 : 1;
}

/**
 * The history root the next block must carry, given the frontier over leaves 0..height
 * (what the ledger state keeps), or null on a chain whose headers carry none.
 */
export function nextHistory(params: GridParams, frontier: Frontier): Uint8Array | null {
  return blockVersionOf(params) === 2 ? frontierRoot(frontier) : null;
}

/**
 * Whether a header's history field is what the chain expects: absent (v1) when `expected`
 * is null, else v2 with exactly that root. Returns a reason, or null when it fits.
 */
export function historyProblem(header: { v: number; history?: Uint8Array }, expected: Uint8Array | null): string | null {
  if (expected === null) return header.v === 1 && header.history === undefined ? null : `header version ${header.v} on a chain of version 1 headers`;
  if (header.v !== 2 || !(header.history instanceof Uint8Array)) return `header version ${header.v} on a chain of version 2 headers`;
  return bytesEqual(header.history, expected) ? null : `history root ${toHex(header.history).slice(0, 16)}… is not the tree over the blocks before it`;
}

// ---- proofs over a list of block hashes (the prover holds them all) -------------------

/**
 * Proof that the header at height `old_height` is extended by the header at `new_height`:
 * an RFC 6962 consistency proof between their history trees (sizes old_height and
 * new_height), and the inclusion of the old block's own hash (leaf old_height) in the new
 * tree. `hashes[i]` is the hash of the block at height i, hashes[0] the chain id.
 */
export interface ExtensionProof {
  old_height: number;
  new_height: number;
  consistency: Uint8Array[];
  inclusion: Uint8Array[];
}

export function proveExtension(hashes: Uint8Array[], old_height: number, new_height: number): ExtensionProof {
  if (!(Number.isSafeInteger(old_height) && old_height >= 1 && old_height < new_height && new_height <= hashes.length - 1)) {
    throw new HistoryError(`cannot prove ${old_height} → ${new_height} from ${hashes.length} hashes`);
  }
  const leaves = hashes.slice(0, new_height);
  return {
    old_height,
    new_height,
    consistency: consistencyProof(leaves, old_height),
    inclusion: inclusionProof(leaves, old_height),
  };
}

/** A header seen from outside: its height, its own hash and the history root it carries. */
export interface HeadView {
  height: number;
  hash: Uint8Array;
  history: Uint8Array;
}

/**
 * Checks that `next` extends `old`: the old tree is a prefix of the new one and the old
 * block itself is leaf old.height of the new tree. Logarithmic in new.height. Whether
 * `next` is certified is the caller's check.
 */
export function checkExtension(old: HeadView, next: HeadView, proof: ExtensionProof): string | null {
  if (proof.old_height !== old.height || proof.new_height !== next.height) return 'the proof is for other heights';
  if (old.height === next.height) return bytesEqual(old.hash, next.hash) ? null : 'two different blocks at the same height';
  if (old.height > next.height) return `the new chain (height ${next.height}) is shorter than the old one (${old.height})`;
  if (!verifyConsistency(old.height, next.height, proof.consistency, old.history, next.history)) {
    return `the history tree at ${next.height} does not extend the one at ${old.height}`;
  }
  if (!verifyInclusion(leafHash(old.hash), old.height, next.height, proof.inclusion, next.history)) {
    return `block ${old.height} of the old chain is not block ${old.height} of the new one`;
  }
  return null;
}

/** Inclusion of the block at `height` in the history tree of the header at `anchor` (> height). */
export function proveBlockInHistory(hashes: Uint8Array[], height: number, anchor: number): Uint8Array[] {
  return inclusionProof(hashes.slice(0, anchor), height);
}

export function checkBlockInHistory(blockHash: Uint8Array, height: number, anchor: HeadView, proof: Uint8Array[]): boolean {
  return height < anchor.height && verifyInclusion(leafHash(blockHash), height, anchor.height, proof, anchor.history);
}
