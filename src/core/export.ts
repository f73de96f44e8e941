// The chain export format: framing of length-prefixed canonical CBOR items, a pure incremental
// reader (feed bytes, take items), and the chain file's items. Used by the node's export, the
// offline verifier (src/audit/) and evidence.ts (which shares the framing).
//
// A file is a sequence of items, each `u32 big-endian length || canonical CBOR`, so it is
// written and read one item at a time: a 100,000-transaction chain never needs to be in memory
// at once. Every length is checked against LIMITS.export_item_max_bytes before anything is
// buffered, and every item is decoded with the codec's canonical check and a strict shape
// check. A chain file:
//
//   { t: 'head', format: 'gridledger/chain', v: 1, chain }     chain = the chain id
//   { t: 'genesis', genesis: bstr }                              the encoded SignedGenesis
//   { t: 'block', block: bstr, cert: [Ack] | null }              heights 1, 2, … in order
//   { t: 'end', height, txs }                                    the last height, the tx count
//
// Blocks are embedded as their canonical encoding (the bytes peers exchange), certificates as
// their acks; an item without `end` is a truncated file.
import { decodeCanonical, encodeCanonical, CodecError, type CanonicalValue } from './codec.js';
import { bytesEqual } from './bytes.js';
import { decodeBlock, encodeBlock, BlockError, type Ack, type Block } from './block.js';
import { chainIdOf, decodeGenesis, encodeGenesis, type SignedGenesis } from './genesis.js';
import { isNodeId, SIGNATURE_BYTES } from './keys.js';
import { LIMITS } from './params.js';

export const CHAIN_FORMAT = 'gridledger/chain';
export const FORMAT_VERSION = 1;
const LENGTH_BYTES = 4;

export type ExportErrorCode = 'too_large' | 'truncated' | 'malformed' | 'out_of_order' | 'wrong_chain' | 'wrong_format';

export class ExportError extends Error {
  override name = 'ExportError';
  constructor(
    readonly code: ExportErrorCode,
    message: string,
    /** Index of the item in the file (0 = the head), when known. */
    readonly item: number | null = null,
  ) {
    super(`${code}: ${message}`);
  }
}

// ---- framing --------------------------------------------------------------------------

/** One framed item: the length prefix, then the bytes. */
export function frameItem(bytes: Uint8Array): Uint8Array {
  if (bytes.length > LIMITS.export_item_max_bytes) throw new ExportError('too_large', `an item of ${bytes.length} bytes`);
  const out = new Uint8Array(LENGTH_BYTES + bytes.length);
  new DataView(out.buffer).setUint32(0, bytes.length);
  out.set(bytes, LENGTH_BYTES);
  return out;
}

export function encodeItem(item: Record<string, CanonicalValue>): Uint8Array {
  return frameItem(encodeCanonical(item));
}

/**
 * Splits a byte stream into framed items. Pure and incremental: push() chunks of any size as
 * they arrive, take complete items with next(), and call end() once the input is over (it
 * throws if the input stopped inside an item). Buffers at most one item plus one chunk.
 */
export class ItemReader {
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #head = 0; // offset into #chunks[0]
  #need: number | null = null; // length of the item being read, once its prefix is in
  #offset = 0; // bytes consumed so far, for error messages
  #items = 0;

  constructor(readonly max_item_bytes: number = LIMITS.export_item_max_bytes) {}

  /** Bytes consumed by the items taken so far. */
  get offset(): number {
    return this.#offset;
  }

  get items(): number {
    return this.#items;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
  }

  /** The next complete item's bytes, or null until more input arrives. */
  next(): Uint8Array | null {
    if (this.#need === null) {
      if (this.#buffered < LENGTH_BYTES) return null;
      const prefix = this.#take(LENGTH_BYTES);
      const n = new DataView(prefix.buffer, prefix.byteOffset, LENGTH_BYTES).getUint32(0);
      if (n > this.max_item_bytes) {
        throw new ExportError('too_large', `item ${this.#items} at byte ${this.#offset} claims ${n} bytes (limit ${this.max_item_bytes})`, this.#items);
      }
      if (n === 0) throw new ExportError('malformed', `item ${this.#items} at byte ${this.#offset} is empty`, this.#items);
      this.#need = n;
      this.#offset += LENGTH_BYTES;
    }
    if (this.#buffered < this.#need) return null;
    const item = this.#take(this.#need);
    this.#offset += this.#need;
    this.#need = null;
    this.#items++;
    return item;
  }

  /** The input is over: anything left is a truncated item. */
  end(): void {
    if (this.#need !== null || this.#buffered > 0) {
      throw new ExportError('truncated', `the input ends inside item ${this.#items} (byte ${this.#offset})`, this.#items);
    }
  }

  #take(n: number): Uint8Array {
    const first = this.#chunks[0]!;
    if (first.length - this.#head >= n) {
      // The common case: a view, no copy (the caller must not keep pushing into it).
      const out = first.subarray(this.#head, this.#head + n);
      this.#head += n;
      this.#buffered -= n;
      if (this.#head === first.length) {
        this.#chunks.shift();
        this.#head = 0;
      }
      return out;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const c = this.#chunks[0]!;
      const k = Math.min(n - filled, c.length - this.#head);
      out.set(c.subarray(this.#head, this.#head + k), filled);
      filled += k;
      this.#head += k;
      if (this.#head === c.length) {
        this.#chunks.shift();
        this.#head = 0;
      }
    }
    this.#buffered -= n;
    return out;
  }
}

/** Decodes one item's canonical CBOR into a map with a string `t`. */
export function decodeItem(bytes: Uint8Array, index: number): Record<string, CanonicalValue> & { t: string } {
  let v: CanonicalValue;
  try {
    v = decodeCanonical(bytes, LIMITS.export_item_max_bytes);
  } catch (err) {
    throw new ExportError(err instanceof CodecError && err.code === 'too_large' ? 'too_large' : 'malformed', `item ${index}: ${(err as Error).message}`, index);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array || typeof v.t !== 'string') {
    throw new ExportError('malformed', `item ${index} is not a typed map`, index);
  }
  return v as Record<string, CanonicalValue> & { t: string };
}

export function hasKeys(v: Record<string, unknown>, keys: string[]): boolean {
  const k = Object.keys(v);
  return k.length === keys.length && keys.every((x) => x in v);
}

const isBytes = (v: unknown, n: number): v is Uint8Array => v instanceof Uint8Array && v.length === n;
export const isUint = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** A commit certificate's acks, shape only (their signatures are checkCertificate's). */
export function acksOf(v: unknown, index: number): Ack[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > LIMITS.members_max) throw new ExportError('malformed', `item ${index}: a certificate holds 1..${LIMITS.members_max} acks`, index);
  return v.map((a) => {
    if (typeof a !== 'object' || a === null || Array.isArray(a) || !hasKeys(a as Record<string, unknown>, ['voter', 'sig'])) {
      throw new ExportError('malformed', `item ${index}: an ack is {voter, sig}`, index);
    }
    const ack = a as unknown as Ack;
    if (!isNodeId(ack.voter) || !isBytes(ack.sig, SIGNATURE_BYTES)) throw new ExportError('malformed', `item ${index}: an ack's voter or sig is malformed`, index);
    return { voter: ack.voter, sig: ack.sig };
  });
}

export function headItem(format: string, chain: Uint8Array): Uint8Array {
  return encodeItem({ t: 'head', format, v: FORMAT_VERSION, chain });
}

export function decodeHead(item: Record<string, CanonicalValue> & { t: string }, format: string): Uint8Array {
  if (item.t !== 'head' || !hasKeys(item, ['t', 'format', 'v', 'chain'])) throw new ExportError('wrong_format', 'the first item is not a head', 0);
  if (item.format !== format) throw new ExportError('wrong_format', `this is a ${String(item.format)} file, not ${format}`, 0);
  if (item.v !== FORMAT_VERSION) throw new ExportError('wrong_format', `format version ${String(item.v)} is not ${FORMAT_VERSION}`, 0);
  if (!isBytes(item.chain, 32)) throw new ExportError('malformed', 'the head has no chain id', 0);
  return item.chain;
}

export function genesisItem(genesis: SignedGenesis): Uint8Array {
  return encodeItem({ t: 'genesis', genesis: encodeGenesis(genesis) });
}

/** The genesis item; its chain id must be the one the head announced. */
export function decodeGenesisItem(item: Record<string, CanonicalValue> & { t: string }, index: number, chain: Uint8Array): SignedGenesis {
  if (item.t !== 'genesis' || !hasKeys(item, ['t', 'genesis']) || !(item.genesis instanceof Uint8Array)) {
    throw new ExportError('out_of_order', `item ${index} should be the genesis`, index);
  }
  let signed: SignedGenesis;
  try {
    signed = decodeGenesis(item.genesis);
    if (!bytesEqual(chainIdOf(signed.genesis), chain)) throw new ExportError('wrong_chain', 'the genesis is not the one the head names', index);
  } catch (err) {
    if (err instanceof ExportError) throw err;
    throw new ExportError('malformed', `genesis: ${(err as Error).message}`, index);
  }
  return signed;
}

// ---- chain files ------------------------------------------------------------------------

export interface CertifiedBlock {
  block: Block;
  cert: Ack[] | null;
}

export type ChainItem =
  | { t: 'head'; chain: Uint8Array }
  | { t: 'genesis'; genesis: SignedGenesis }
  | { t: 'block'; block: Block; cert: Ack[] | null; bytes: number }
  | { t: 'end'; height: number; txs: number };

export function blockItem(b: CertifiedBlock): Uint8Array {
  return encodeItem({ t: 'block', block: encodeBlock(b.block), cert: b.cert === null ? null : b.cert.map((a) => ({ voter: a.voter, sig: a.sig })) });
}

export function endItem(height: number, txs: number): Uint8Array {
  return encodeItem({ t: 'end', height, txs });
}

/**
 * Decodes a chain file's items in order and checks the sequence: head, genesis, blocks at
 * heights 1, 2, …, end (naming the last height and the transaction count), nothing after.
 * Pure and incremental, like ItemReader. Contents (hashes, signatures, rules) are the
 * auditor's (audit.ts).
 */
export class ChainFileReader {
  readonly #items = new ItemReader();
  #index = 0;
  #chain: Uint8Array | null = null;
  #height = 0;
  #txs = 0;
  #ended = false;

  push(chunk: Uint8Array): void {
    this.#items.push(chunk);
  }

  /** Bytes of the file consumed so far. */
  get offset(): number {
    return this.#items.offset;
  }

  next(): ChainItem | null {
    const bytes = this.#items.next();
    if (bytes === null) return null;
    const index = this.#index++;
    if (this.#ended) throw new ExportError('out_of_order', `item ${index} follows the end`, index);
    const item = decodeItem(bytes, index);
    if (index === 0) return { t: 'head', chain: (this.#chain = decodeHead(item, CHAIN_FORMAT)) };
    if (index === 1) return { t: 'genesis', genesis: decodeGenesisItem(item, index, this.#chain!) };
    if (item.t === 'block') {
      if (!hasKeys(item, ['t', 'block', 'cert']) || !(item.block instanceof Uint8Array)) throw new ExportError('malformed', `item ${index} is not a block item`, index);
      let block: Block;
      try {
        block = decodeBlock(item.block);
      } catch (err) {
        throw new ExportError(err instanceof BlockError && err.code === 'too_large' ? 'too_large' : 'malformed', `block item ${index}: ${(err as Error).message}`, index);
      }
      if (block.header.height !== this.#height + 1) {
        throw new ExportError('out_of_order', `block ${block.header.height} where ${this.#height + 1} should be`, index);
      }
      this.#height++;
      this.#txs += block.txs.length;
      const cert = item.cert === null ? null : acksOf(item.cert, index);
      return { t: 'block', block, cert, bytes: bytes.length };
    }
    if (item.t === 'end') {
      if (!hasKeys(item, ['t', 'height', 'txs']) || !isUint(item.height) || !isUint(item.txs)) throw new ExportError('malformed', `item ${index} is not an end item`, index);
      if (item.height !== this.#height || item.txs !== this.#txs) {
        throw new ExportError('truncated', `the end names height ${item.height} and ${item.txs} txs; the file holds ${this.#height} and ${this.#txs}`, index);
      }
      this.#ended = true;
      return { t: 'end', height: item.height, txs: item.txs };
    }
    throw new ExportError('malformed', `item ${index} has an unknown type ${JSON.stringify(item.t)}`, index);
  }

  /** The input is over: it must have ended with an end item. */
  end(): void {
    this.#items.end();
    if (!this.#ended) throw new ExportError('truncated', `the file stops after block ${this.#height} without an end item`, this.#index);
  }
}

/**
 * Writes a chain file one item at a time: start() gives the head and genesis items, block()
 * one item per block (heights 1, 2, … in order), end() the end item. The file must stop at a
 * block that carries its certificate, so that everything in it is provably final.
 */
export class ChainFileWriter {
  #height = 0;
  #txs = 0;
  #lastCertified = true;

  constructor(readonly genesis: SignedGenesis) {}

  start(): Uint8Array[] {
    return [headItem(CHAIN_FORMAT, chainIdOf(this.genesis.genesis)), genesisItem(this.genesis)];
  }

  block(b: CertifiedBlock): Uint8Array {
    if (b.block.header.height !== this.#height + 1) throw new ExportError('out_of_order', `block ${b.block.header.height} given after ${this.#height}`);
    this.#height++;
    this.#txs += b.block.txs.length;
    this.#lastCertified = b.cert !== null;
    return blockItem(b);
  }

  end(): Uint8Array {
    if (!this.#lastCertified) throw new ExportError('truncated', `block ${this.#height}, the last given, has no certificate: export up to a certified height`);
    return endItem(this.#height, this.#txs);
  }
}

/** A whole chain file from blocks in memory (tests; the node streams with src/audit/stream.ts). */
export function* chainFileItems(genesis: SignedGenesis, blocks: Iterable<CertifiedBlock>): Generator<Uint8Array> {
  const w = new ChainFileWriter(genesis);
  yield* w.start();
  for (const b of blocks) yield w.block(b);
  yield w.end();
}
