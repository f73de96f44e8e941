// What a node (browser worker) serves to its UI for the offline audit, from its replica: the
// chain file, a household's evidence, and the proof that its chain extends a saved head. Thin
// over the pure core so the node's side is one call each; runs wherever ReadableStream exists.
import { fromHex } from '../core/bytes.js';
import type { CertifiedBlock } from '../core/export.js';
import { certifiedHeadOf, checkCertifiedHead, checkHeadFile, type CertifiedHead, type ChainAccess } from '../core/evidence.js';
import { checkExtension, proveExtension, type ExtensionProof, type HeadView } from '../core/history.js';
import { nobleVerifier, type NodeId, type Verifier } from '../core/keys.js';
import { applyChecked, genesisState, type LedgerState } from '../core/ledger.js';
import { decodeTxUnverified } from '../core/tx.js';
import { blockHash } from '../core/block.js';
import type { Replica } from '../core/replica.js';
import { bytesEqual } from '../core/bytes.js';
import { chainIdOf } from '../core/genesis.js';
import { toReadableStream, writeChain } from './stream.js';
import { writeEvidence } from './evidence-file.js';

/** The newest height that is both applied and certified: where an export ends (0: none yet). */
export function exportHeight(r: Replica): number {
  let top = 0;
  for (const h of r.certs.keys()) if (h <= r.raft.applied && h > top) top = h;
  return top;
}

/** Blocks 1..exportHeight with their certificates, read from the replica's log as the file is written. */
export function* certifiedBlocks(r: Replica, top = exportHeight(r)): Generator<CertifiedBlock> {
  for (let h = 1; h <= top; h++) yield { block: r.raft.log[h]!.block!, cert: r.certs.get(h)?.acks ?? null };
}

/** "Download chain": the chain file as a stream (transferable out of the worker). */
export function exportChain(r: Replica): ReadableStream<Uint8Array> {
  return toReadableStream(writeChain(r.genesis, certifiedBlocks(r)));
}

export function replicaAccess(r: Replica): ChainAccess {
  return {
    genesis: r.genesis,
    height: r.raft.applied,
    block: (h) => r.raft.log[h]!.block!,
    cert: (h) => r.certs.get(h)?.acks ?? null,
  };
}

/** "Download my evidence": a household's evidence file as a stream (needs block_version 2). */
export function exportEvidence(r: Replica, household: NodeId, verifier: Verifier): ReadableStream<Uint8Array> {
  return toReadableStream(writeEvidence(replicaAccess(r), household, verifier));
}

const MEMBERSHIP = new Set(['admit', 'remove', 'promote', 'demote', 'rekey']);

/**
 * The voters at height `h` (≤ applied): those of the applied state when no membership change
 * was proposed after `h` (the usual case: a scan of the few blocks since), else from a replay
 * of the chain up to `h` (the node's own, verified chain: signatures are not checked again).
 */
export function votersStateAt(r: Replica, h: number): LedgerState {
  let changed = false;
  for (let i = h + 1; i <= r.raft.applied && !changed; i++) {
    changed = r.raft.log[i]!.block!.txs.some((t) => MEMBERSHIP.has(decodeTxUnverified(t, r.chain_id).body.kind));
  }
  if (!changed) return r.state;
  let state = genesisState(r.genesis, nobleVerifier);
  for (let i = 1; i <= h; i++) {
    const block = r.raft.log[i]!.block!;
    state = applyChecked(state, block, block.txs.map((t) => decodeTxUnverified(t, r.chain_id))).state;
  }
  return state;
}

/**
 * "Prove this chain extends my saved head": this node's newest certified head and the proof
 * from `old_height` to it. The page checks it with checkSavedHeadExtension, trusting nothing
 * the node says beyond what the certificate and the proof show.
 */
export function proveExtends(r: Replica, old_height: number): { head: CertifiedHead; proof: ExtensionProof | null } {
  const top = exportHeight(r);
  if (top === 0) throw new Error('nothing is certified yet');
  const head = certifiedHeadOf(r.raft.log[top]!.block!, r.certs.get(top)!.acks, votersStateAt(r, top));
  if (old_height === top) return { head, proof: null };
  const hashes = r.raft.log.slice(0, top + 1).map((e) => fromHex(e.hash));
  return { head, proof: proveExtension(hashes, old_height, top) };
}

/**
 * The page's check of proveExtends' answer against a saved head file: both heads certified by
 * a quorum of the voters they name, the same grid, and the extension proof. Returns null when
 * the new chain extends the saved one, else the reason.
 */
export function checkSavedHeadExtension(saved: Uint8Array, next: { head: CertifiedHead; proof: ExtensionProof | null }, verifier: Verifier): string | null {
  const old = checkHeadFile(saved, verifier);
  const chain = chainIdOf(old.genesis.genesis);
  const n = checkCertifiedHead(next.head, chain, old.genesis.genesis.params, verifier);
  if (!bytesEqual(n.hash, blockHash(next.head.header))) return 'the new head does not hash to itself';
  if (old.head.history === null || n.history === null) return 'this grid\'s headers carry no history root (block_version 1)';
  if (next.proof === null) return old.head.height === n.height && bytesEqual(old.head.hash, n.hash) ? null : 'no proof for a different head';
  return checkExtension(old.head as HeadView, n as HeadView, next.proof);
}
