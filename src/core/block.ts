// Blocks are Raft log entries: height = log index, term = Raft term. The header commits to
// the transactions through an RFC 6962 Merkle root of their encodings. The proposer signs
// the header hash; after commit, a quorum of signed acknowledgements (the commit
// certificate) is stored beside the block so anyone can check finality from the chain alone.
import { decodeCanonical, encodeCanonical, type CanonicalValue } from './codec.js';
import { concatBytes, bytesEqual, toHex, utf8 } from './bytes.js';
import { taggedHash } from './hash.js';
import { merkleRoot } from './merkle.js';
import { historyProblem } from './history.js';
import { LIMITS, type CommitQuorum } from './params.js';
import {
  PUBLIC_KEY_BYTES,
  SIGNATURE_BYTES,
  isNodeId,
  isValidPublicKey,
  nodeIdOf,
  type NodeId,
  type Verifier,
} from './keys.js';
import { checkTxSignature, decodeTxUnverified, TxError, type DecodedTx } from './tx.js';

export interface BlockHeader {
  v: 1 | 2; // 2: carries `history` (the grid's params.block_version decides)
  chain: Uint8Array;
  height: number;
  term: number;
  prev: Uint8Array; // hash of the previous block's header (the chain id for height 1)
  history?: Uint8Array; // v2 only: RFC 6962 root over the hashes of blocks 0..height-1 (history.ts)
  tx_root: Uint8Array; // RFC 6962 root over the encoded signed transactions
  tx_count: number;
  time_ms: number;
  proposer: NodeId;
  proposer_pub: Uint8Array;
}

export interface Ack {
  voter: NodeId;
  sig: Uint8Array; // over ackMessage(chain, height, block hash)
}

export interface Block {
  header: BlockHeader;
  sig: Uint8Array; // proposer's signature over blockSigningMessage(hash)
  txs: Uint8Array[]; // encoded signed transactions, the Merkle leaves
}

export type BlockErrorCode =
  | 'too_large'
  | 'malformed'
  | 'wrong_chain'
  | 'bad_height'
  | 'bad_prev'
  | 'bad_term'
  | 'bad_time'
  | 'bad_tx_root'
  | 'bad_history'
  | 'too_many_txs'
  | 'duplicate_tx'
  | 'bad_tx'
  | 'bad_proposer_sig'
  | 'bad_certificate';

export class BlockError extends Error {
  override name = 'BlockError';
  constructor(
    readonly code: BlockErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

export function blockHash(header: BlockHeader): Uint8Array {
  return taggedHash('block', encodeCanonical(header as unknown as CanonicalValue));
}

export function blockSigningMessage(hash: Uint8Array): Uint8Array {
  return concatBytes(utf8('gridledger/block/v1'), hash);
}

function u64(n: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n));
  return out;
}

export function ackMessage(chain: Uint8Array, height: number, hash: Uint8Array): Uint8Array {
  return concatBytes(utf8('gridledger/ack/v1'), chain, u64(height), hash);
}

export async function buildBlock(
  fields: Omit<BlockHeader, 'v' | 'tx_root' | 'tx_count' | 'proposer' | 'proposer_pub'>,
  txs: Uint8Array[],
  proposer: { publicKey: Uint8Array; id: NodeId; sign(m: Uint8Array): Promise<Uint8Array> },
): Promise<Block> {
  const header = headerFor(fields, txs, proposer);
  return { header, sig: await proposer.sign(blockSigningMessage(blockHash(header))), txs };
}

export function buildBlockSync(
  fields: Omit<BlockHeader, 'v' | 'tx_root' | 'tx_count' | 'proposer' | 'proposer_pub'>,
  txs: Uint8Array[],
  proposer: { publicKey: Uint8Array; id: NodeId; signSync(m: Uint8Array): Uint8Array },
): Block {
  const header = headerFor(fields, txs, proposer);
  return { header, sig: proposer.signSync(blockSigningMessage(blockHash(header))), txs };
}

function headerFor(
  fields: Omit<BlockHeader, 'v' | 'tx_root' | 'tx_count' | 'proposer' | 'proposer_pub'>,
  txs: Uint8Array[],
  proposer: { publicKey: Uint8Array; id: NodeId },
): BlockHeader {
  // A v2 header has exactly one more key; a v1 header must not carry it at all.
  const history = fields.history === undefined ? {} : { history: fields.history };
  return {
    v: fields.history === undefined ? 1 : 2,
    chain: fields.chain,
    height: fields.height,
    term: fields.term,
    prev: fields.prev,
    ...history,
    tx_root: merkleRoot(txs),
    tx_count: txs.length,
    time_ms: fields.time_ms,
    proposer: proposer.id,
    proposer_pub: proposer.publicKey,
  };
}

export function encodeBlock(block: Block): Uint8Array {
  return encodeCanonical(block as unknown as CanonicalValue);
}

const isUint = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isBytes = (v: unknown, n: number): v is Uint8Array => v instanceof Uint8Array && v.length === n;

/** Decodes a block and checks its shape (not its contents: see checkBlock). */
export function decodeBlock(bytes: Uint8Array): Block {
  let v: CanonicalValue;
  try {
    v = decodeCanonical(bytes, LIMITS.block_max_bytes);
  } catch (err) {
    throw new BlockError(bytes.length > LIMITS.block_max_bytes ? 'too_large' : 'malformed', (err as Error).message);
  }
  const b = v as unknown as Block;
  if (
    typeof b !== 'object' || b === null || Object.keys(b).sort().join() !== 'header,sig,txs' ||
    !isBlockHeader(b.header) || !isBytes(b.sig, SIGNATURE_BYTES) ||
    !Array.isArray(b.txs) || !b.txs.every((t) => t instanceof Uint8Array)
  ) {
    throw new BlockError('malformed', 'not a block');
  }
  return b;
}

/** The shape of a decoded header (v1, or v2 with `history`); its contents are checkBlock's. */
export function isBlockHeader(h: unknown): h is BlockHeader {
  if (typeof h !== 'object' || h === null) return false;
  const x = h as BlockHeader;
  const keys = Object.keys(x).length;
  return (
    (keys === 10 && x.v === 1 && !('history' in x) || keys === 11 && x.v === 2 && isBytes(x.history, 32)) &&
    isBytes(x.chain, 32) && isUint(x.height) && isUint(x.term) &&
    isBytes(x.prev, 32) && isBytes(x.tx_root, 32) && isUint(x.tx_count) && isUint(x.time_ms) &&
    isNodeId(x.proposer) && isBytes(x.proposer_pub, PUBLIC_KEY_BYTES)
  );
}

export interface BlockContext {
  chain: Uint8Array;
  /** The block this one must follow: its header hash, height, term and time. */
  prev: { hash: Uint8Array; height: number; term: number; time_ms: number };
  /** The history root this block must carry (history.ts nextHistory), or null on a chain of v1 headers. */
  history: Uint8Array | null;
  max_txs: number;
  max_bytes: number;
  verifier: Verifier;
  /**
   * Transactions whose signature need not be checked here, because a commit certificate
   * from a quorum of voters vouches for the block (certificate-verified sync). Absent:
   * every signature is checked.
   */
  trust_tx?: (tx: DecodedTx) => boolean;
}

/**
 * The checks a follower runs before it acknowledges a block: chain, linkage, term and
 * time monotonic, limits, Merkle root, proposer signature, and every transaction's
 * encoding and signature. Returns the decoded transactions. Whether the proposer may
 * lead (is a voter, won the term) is Raft's business; whether each transaction is
 * permitted is the ledger's (a failed receipt, not a bad block).
 */
export function checkBlock(block: Block, ctx: BlockContext): DecodedTx[] {
  const h = block.header;
  if (!bytesEqual(h.chain, ctx.chain)) throw new BlockError('wrong_chain', 'block is for another chain');
  if (h.height !== ctx.prev.height + 1) throw new BlockError('bad_height', `height ${h.height} does not follow ${ctx.prev.height}`);
  if (!bytesEqual(h.prev, ctx.prev.hash)) throw new BlockError('bad_prev', `block ${h.height} does not link to its parent`);
  if (h.term < ctx.prev.term) throw new BlockError('bad_term', `term ${h.term} is below the parent's ${ctx.prev.term}`);
  if (h.time_ms < ctx.prev.time_ms) throw new BlockError('bad_time', 'block time goes backwards');
  const badHistory = historyProblem(h, ctx.history);
  if (badHistory !== null) throw new BlockError('bad_history', `block ${h.height}: ${badHistory}`);
  if (h.tx_count !== block.txs.length) throw new BlockError('malformed', 'tx_count does not match');
  if (block.txs.length > ctx.max_txs) throw new BlockError('too_many_txs', `${block.txs.length} > ${ctx.max_txs}`);
  let bytes = 0;
  for (const t of block.txs) bytes += t.length;
  if (bytes > ctx.max_bytes) throw new BlockError('too_large', `${bytes} tx bytes > ${ctx.max_bytes}`);
  if (!bytesEqual(merkleRoot(block.txs), h.tx_root)) throw new BlockError('bad_tx_root', 'Merkle root does not match the transactions');
  if (!isValidPublicKey(h.proposer_pub) || nodeIdOf(h.proposer_pub) !== h.proposer) {
    throw new BlockError('bad_proposer_sig', 'proposer is not the id of proposer_pub');
  }
  if (!ctx.verifier.verify(h.proposer_pub, blockSigningMessage(blockHash(h)), block.sig)) {
    throw new BlockError('bad_proposer_sig', `signature of ${h.proposer} does not verify`);
  }
  const seen = new Set<string>();
  return block.txs.map((bytesOfTx, i) => {
    let tx: DecodedTx;
    try {
      tx = decodeTxUnverified(bytesOfTx, ctx.chain);
      if (!ctx.trust_tx?.(tx)) checkTxSignature(tx, ctx.verifier);
    } catch (err) {
      const code = err instanceof TxError ? err.code : 'malformed';
      throw new BlockError('bad_tx', `transaction ${i}: ${code}`);
    }
    if (seen.has(tx.id)) throw new BlockError('duplicate_tx', `transaction ${tx.id} appears twice`);
    seen.add(tx.id);
    return tx;
  });
}

/** Acks needed among `voters` voters for each quorum rule. */
export function quorumSize(voters: number, rule: CommitQuorum): number {
  return rule === 'two_thirds' ? Math.floor((2 * voters) / 3) + 1 : Math.floor(voters / 2) + 1;
}

/**
 * A commit certificate is valid when at least a quorum of distinct current voters signed
 * (chain, height, hash). `voters` maps voter id to public key for the block's height.
 */
export function checkCertificate(
  chain: Uint8Array,
  height: number,
  hash: Uint8Array,
  cert: Ack[],
  voters: ReadonlyMap<NodeId, Uint8Array>,
  rule: CommitQuorum,
  verifier: Verifier,
): void {
  const message = ackMessage(chain, height, hash);
  const signed = new Set<NodeId>();
  for (const ack of cert) {
    const pub = voters.get(ack.voter);
    if (!pub) continue; // not a voter at this height: does not count
    if (signed.has(ack.voter)) throw new BlockError('bad_certificate', `voter ${ack.voter} acked twice`);
    if (!verifier.verify(pub, message, ack.sig)) throw new BlockError('bad_certificate', `ack of ${ack.voter} does not verify`);
    signed.add(ack.voter);
  }
  const need = quorumSize(voters.size, rule);
  if (signed.size < need) throw new BlockError('bad_certificate', `${signed.size} valid acks, ${need} needed`);
}

export function blockHashHex(header: BlockHeader): string {
  return toHex(blockHash(header));
}
