// Verifies a chain file as it streams in (browser or Node): the pure auditor (core/audit.ts)
// block by block, with signatures checked in parallel when an asynchronous verifier is given.
//
// Speculative signatures: the synchronous core asks its Verifier port for each signature in
// turn and stops at the first false. Here the port answers true at once and hands the check to
// an asynchronous verifier (OpenSSL on libuv's threads in Node, WebCrypto in a browser), so
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
  parallel?: AsyncVerifier;
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

/** Collects the signatures the core asks about, answering true; see the file's comment. */
class SpeculativeVerifier implements Verifier {
  jobs: Promise<boolean>[] = [];
  constructor(private readonly inner: AsyncVerifier) {}
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    this.jobs.push(this.inner.verify(publicKey, message, signature));
    return true;
  }
  take(): Promise<boolean>[] {
    const out = this.jobs;
    this.jobs = [];
    return out;
  }
}

interface OpenBlock {
  prior: LedgerState;
  block: Block;
  cert: Ack[] | null;
  jobs: Promise<boolean>[];
  result: VerifiedBlock;
}

/**
 * Verifies a chain file from its bytes. Resolves with the report, or rejects with an
 * AuditError naming the first failing height and the reason.
 */
export async function verifyChainFile(source: ByteSource, opts: VerifyOptions): Promise<AuditReport> {
  const speculative = opts.parallel ? new SpeculativeVerifier(opts.parallel) : null;
  const verifier: Verifier = speculative ?? opts.verifier;
  const windowSigs = opts.window_sigs ?? 2048;
  const windowBlocks = opts.window_blocks ?? 64;
  const open: OpenBlock[] = [];
  let inFlight = 0;
  let summary: AuditSummary | null = null;
  let genesis: SignedGenesis | null = null;
  let last: Block | null = null;

  const settleOldest = async (): Promise<void> => {
    const b = open.shift()!;
    inFlight -= b.jobs.length;
    const verdicts = await Promise.all(b.jobs);
    if (verdicts.some((ok) => !ok)) {
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
      if (item.t === 'end') break;
      const s = summary!;
      const prior = s.state;
      let audited;
      try {
        audited = auditBlock(prior, item.block, item.cert, verifier);
      } catch (err) {
        if (speculative && err instanceof AuditError) {
          // A sequential run may have stopped earlier: at a signature of an open block, or
          // at a signature of this one before the check that failed here.
          speculative.take();
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
      const jobs = speculative.take();
      open.push({ prior, block: item.block, cert: item.cert, jobs, result });
      inFlight += jobs.length;
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
