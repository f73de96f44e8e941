// Verifies a chain file as it streams in (browser or Node): the pure auditor (core/audit.ts)
// block by block, with signatures checked in parallel when a batch verifier is given.
//
// Speculative signatures: the synchronous core asks its Verifier port for each signature in
// turn and stops at the first false. Here the port answers true at once and queues the check
// for a batch verifier (OpenSSL on worker threads in Node, WebCrypto in a browser), so
// decoding and applying run ahead while signatures are checked in parallel. A window of
// blocks stays open until their signatures are in; if one comes back false, that block is
// checked again from the state before it with the strict synchronous verifier, which gives
// exactly the error (height, code, reason) a sequential run would have given. Nothing is
// reported for a block (statements, progress) before its signatures are confirmed.
import { AuditError, AuditSummary, auditBlock, auditGenesis, headOf, type AuditReport } from '../core/audit.js';
import type { Ack, Block } from '../core/block.js';
import { ExportError } from '../core/export.js';
import type { SignedGenesis } from '../core/genesis.js';
import type { Verifier } from '../core/keys.js';
import type { LedgerState, Receipt } from '../core/ledger.js';
import type { Statement } from '../core/settlement.js';
import { readChain, type ByteSource } from './stream.js';

export interface AsyncVerifier {
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): Promise<boolean>;
}

export interface SignatureJob {
  pub: Uint8Array;
  msg: Uint8Array;
  sig: Uint8Array;
}

/** Checks many signatures at once (openssl-pool.ts: worker threads); verdicts in order, truthy = valid. */
export interface BatchVerifier {
  verifyBatch(jobs: SignatureJob[]): Promise<ArrayLike<number | boolean>>;
}

/** A batch verifier from one that checks one signature at a time (WebCrypto, OpenSSL's pool). */
export function batchOf(v: AsyncVerifier): BatchVerifier {
  return { verifyBatch: (jobs) => Promise.all(jobs.map((j) => v.verify(j.pub, j.msg, j.sig))) };
}

export interface VerifiedBlock {
  height: number;
  block: Block;
  cert: Ack[] | null;
  /** The ledger after the block (its last_hash is the block's hash). */
  state: LedgerState;
  txs: number;
  receipts: Receipt[];
  statements: Statement[];
  time_ms: number;
}

export interface VerifyOptions {
  /** Strict synchronous verifier: the genesis, and a block whose speculative check failed. */
  verifier: Verifier;
  /** Checks signatures in parallel, speculatively (see above). Absent: `verifier` does all. */
  parallel?: BatchVerifier;
  /** Signatures sent per batch. */
  batch_sigs?: number;
  /** Signatures in flight before the oldest open block is awaited. */
  window_sigs?: number;
  /** Blocks kept open at most (each holds the state before it). */
  window_blocks?: number;
  /** Each block, in height order, once fully verified. */
  onBlock?: (b: VerifiedBlock) => void;
  /** Bytes of the file read so far. */
  onBytes?: (bytes: number) => void;
  /** The genesis, once checked. */
  onGenesis?: (genesis: SignedGenesis, state: LedgerState) => void;
}

interface Batch {
  jobs: SignatureJob[];
  verdicts: Promise<ArrayLike<number | boolean>> | null;
}

/** Collects the signatures the core asks about into the current batch, answering true. */
class SpeculativeVerifier implements Verifier {
  batch: Batch = { jobs: [], verdicts: null };
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    this.batch.jobs.push({ pub: publicKey, msg: message, sig: signature });
    return true;
  }
}

interface OpenBlock {
  prior: LedgerState;
  block: Block;
  cert: Ack[] | null;
  batch: Batch;
  from: number; // the block's signatures: batch.jobs[from, to)
  to: number;
  result: VerifiedBlock;
}

/**
 * Verifies a chain file from its bytes. Resolves with the report, or rejects with an
 * AuditError naming the first failing height and the reason.
 */
export async function verifyChainFile(source: ByteSource, opts: VerifyOptions): Promise<AuditReport> {
  const pool = opts.parallel ?? null;
  const speculative = pool ? new SpeculativeVerifier() : null;
  const verifier: Verifier = speculative ?? opts.verifier;
  const batchSigs = opts.batch_sigs ?? 256;
  const windowSigs = opts.window_sigs ?? 4096;
  const windowBlocks = opts.window_blocks ?? 128;
  const open: OpenBlock[] = [];
  let inFlight = 0;
  let summary: AuditSummary | null = null;
  let genesis: SignedGenesis | null = null;
  let last: Block | null = null;

  const dispatch = (batch: Batch): void => {
    if (batch.verdicts) return;
    batch.verdicts = pool!.verifyBatch(batch.jobs);
    if (speculative!.batch === batch) speculative!.batch = { jobs: [], verdicts: null };
  };
  const settleOldest = async (): Promise<void> => {
    const b = open.shift()!;
    inFlight -= b.to - b.from;
    dispatch(b.batch);
    const verdicts = await b.batch.verdicts!;
    for (let i = b.from; i < b.to; i++) {
      if (verdicts[i]) continue;
      // Same block, same state, strict verifier: the error a sequential run gives.
      auditBlock(b.prior, b.block, b.cert, opts.verifier);
      throw new AuditError(b.block.header.height, 'verifier_disagreement', 'a signature failed in parallel but verifies on its own');
    }
    opts.onBlock?.(b.result);
  };

  try {
    for await (const item of readChain(source, opts.onBytes)) {
      if (item.t === 'head') continue;
      if (item.t === 'genesis') {
        genesis = item.genesis;
        const state = auditGenesis(genesis, opts.verifier);
        summary = new AuditSummary(genesis, state);
        opts.onGenesis?.(genesis, state);
        continue;
      }
      if (item.t === 'end') continue; // read on: anything after the end is refused
      const s = summary!;
      const prior = s.state;
      const from = speculative ? speculative.batch.jobs.length : 0;
      let audited;
      try {
        audited = auditBlock(prior, item.block, item.cert, verifier);
      } catch (err) {
        if (speculative && err instanceof AuditError) {
          // A sequential run may have stopped earlier: at a signature of an open block, or
          // at a signature of this one before the check that failed here.
          speculative.batch.jobs.length = from;
          while (open.length > 0) await settleOldest();
          auditBlock(prior, item.block, item.cert, opts.verifier);
        }
        throw err;
      }
      s.add(audited, item.cert !== null);
      last = item.block;
      const result: VerifiedBlock = {
        height: audited.height,
        block: item.block,
        cert: item.cert,
        state: audited.state,
        txs: item.block.txs.length,
        receipts: audited.receipts,
        statements: audited.statements,
        time_ms: item.block.header.time_ms,
      };
      if (!speculative) {
        opts.onBlock?.(result);
        continue;
      }
      const batch = speculative.batch;
      open.push({ prior, block: item.block, cert: item.cert, batch, from, to: batch.jobs.length, result });
      inFlight += batch.jobs.length - from;
      if (batch.jobs.length >= batchSigs) dispatch(batch);
      while (open.length > 0 && (inFlight > windowSigs || open.length > windowBlocks)) await settleOldest();
    }
    while (open.length > 0) await settleOldest();
  } catch (err) {
    if (err instanceof ExportError) {
      // The failing item: 0 head, 1 genesis, 2 + k block k + 1; blocks before it are fine.
      while (open.length > 0) await settleOldest();
      throw new AuditError(err.item === null ? (summary?.state.height ?? 0) + 1 : Math.max(0, err.item - 1), err.code, err.message.replace(/^[a-z_]+: /, ''));
    }
    throw err;
  }
  if (!summary) throw new AuditError(0, 'truncated', 'the file holds no genesis');
  const report = summary.finish();
  if (last) report.head = headOf(last);
  return report;
}
