// Sync from any peer: a fresh node (not a member: an auditor) fetches certified batches
// from a replica of a simulated cluster, checks hash chain, signatures and certificates,
// and ends with the same chain and the same ledger state root. Tampered batches are refused.
import { describe, expect, it } from 'vitest';
import { Cluster } from './cluster.js';
import { certifiedTrust, Replica, type Certificate, type SyncVerification } from '../../src/core/replica.js';
import { NobleSigner, nobleVerifier, type Verifier } from '../../src/core/keys.js';
import { CachingVerifier, decodeTxUnverified } from '../../src/core/tx.js';
import { stateRoot } from '../../src/core/ledger.js';
import { toHex } from '../../src/core/bytes.js';
import { Rng } from './rng.js';
import type { Entry } from '../../src/core/raft/types.js';

async function finishedCluster(seed: number): Promise<Replica> {
  const c = new Cluster({ seed, nodes: 3 });
  const r = await c.run();
  expect(r.ok, r.violation ?? '').toBe(true);
  // The replica with the most certificates is the best source.
  const replicas = c.nodes.map((n) => n.replica).filter((x): x is Replica => !!x);
  return replicas.sort((a, b) => b.certs.size - a.certs.size)[0]!;
}

function freshAuditor(source: Replica, verifier: Verifier = new CachingVerifier(nobleVerifier)): Replica {
  const rng = new Rng(99);
  return new Replica({ genesis: source.genesis, id: NobleSigner.fromSeed('sync auditor').id, verifier, rand: () => rng.next() });
}

/** Counts the signature checks a replica asks for. */
class CountingVerifier implements Verifier {
  calls = 0;
  verify(pub: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean {
    this.calls++;
    return nobleVerifier.verify(pub, msg, sig);
  }
}

/** Runs the node's sync loop against `source` until nothing more is certified. */
function syncAll(
  node: Replica,
  source: Replica,
  tamper?: (entries: Entry[], cert: Certificate) => void,
  verification: SyncVerification = 'full',
): { batches: number; refused: string[] } {
  let batches = 0;
  const refused: string[] = [];
  for (let guard = 0; guard < 1000; guard++) {
    const batch = source.syncBatch(node.raft.applied + 1, 32);
    const cert = batch.certs[0];
    if (batch.entries.length === 0 || !cert) break;
    const entries = batch.entries.map((e) => ({ ...e }));
    tamper?.(entries, cert);
    const problem = node.acceptSynced(entries, cert, verification);
    if (problem) {
      refused.push(problem);
      break;
    }
    batches++;
    while (node.hasReady()) node.advance(node.ready(), 0);
  }
  return { batches, refused };
}

describe('sync in certified batches', () => {
  it('a fresh auditor reaches the same chain and state root as the source', async () => {
    const source = await finishedCluster(3);
    const top = Math.max(...source.certs.keys());
    expect(top).toBeGreaterThan(10);
    const node = freshAuditor(source);
    const { batches, refused } = syncAll(node, source);
    expect(refused).toEqual([]);
    expect(batches).toBeGreaterThan(1);
    expect(node.raft.applied).toBe(top);
    for (let h = 1; h <= top; h++) expect(node.raft.log[h]!.hash).toBe(source.raft.log[h]!.hash);
    // Same ledger: replay the source's log to `top` on a second fresh replica and compare.
    const replay = freshAuditor(source);
    replay.acceptSynced(source.raft.log.slice(1, top + 1), source.certs.get(top)!);
    while (replay.hasReady()) replay.advance(replay.ready(), 0);
    expect(toHex(stateRoot(node.state))).toBe(toHex(stateRoot(replay.state)));
  }, 120_000);

  it('refuses a batch whose certificate lacks a quorum, is for another block, or whose blocks were altered', async () => {
    const source = await finishedCluster(5);
    const thinNode = freshAuditor(source);
    const thin = syncAll(thinNode, source, (_e, cert) => {
      cert.acks = cert.acks.slice(0, 1);
    });
    expect(thin.batches).toBe(0);
    expect(thin.refused[0]).toMatch(/valid acks|needed/);
    // A refused batch leaves none of its decoded blocks behind (before, each refused batch's
    // transactions stayed in memory for good).
    expect(thinNode.decodedBlocksHeld).toBe(0);
    const other = syncAll(freshAuditor(source), source, (entries) => {
      entries.pop();
    });
    expect(other.refused[0]).toMatch(/certificate is not for the last block/);
    const altered = syncAll(freshAuditor(source), source, (entries) => {
      const e = entries[0]!;
      entries[0] = { ...e, block: { ...e.block!, header: { ...e.block!.header, time_ms: e.block!.header.time_ms + 1 } } };
    });
    expect(altered.refused[0]).toMatch(/block 1/);
  }, 120_000);

  it('certificate-verified sync reaches the same state with fewer signature checks, and still refuses thin certificates', async () => {
    const source = await finishedCluster(3);
    const top = Math.max(...source.certs.keys());
    const fullV = new CountingVerifier();
    const full = freshAuditor(source, new CachingVerifier(fullV));
    expect(syncAll(full, source).refused).toEqual([]);
    const certV = new CountingVerifier();
    const cert = freshAuditor(source, new CachingVerifier(certV));
    expect(syncAll(cert, source, undefined, 'certificate').refused).toEqual([]);
    expect(cert.raft.applied).toBe(top);
    expect(toHex(stateRoot(cert.state))).toBe(toHex(stateRoot(full.state)));
    // Exactly the signatures of ordinary transactions are skipped.
    let trusted = 0;
    for (let h = 1; h <= top; h++) {
      for (const t of source.raft.log[h]!.block!.txs) if (certifiedTrust(decodeTxUnverified(t, source.chain_id))) trusted++;
    }
    expect(trusted).toBeGreaterThan(10);
    expect(certV.calls).toBe(fullV.calls - trusted);
    const thin = syncAll(freshAuditor(source), source, (_e, c) => {
      c.acks = c.acks.slice(0, 1);
    }, 'certificate');
    expect(thin.batches).toBe(0);
    expect(thin.refused[0]).toMatch(/valid acks|needed/);
  }, 120_000);

  it('bounds a batch by bytes as well as blocks, stretching to the next certificate only within the hard limit', async () => {
    const source = await finishedCluster(3);
    const certified = [...source.certs.keys()].sort((a, b) => a - b);
    const wide = source.syncBatch(1, 256);
    expect(wide.entries.length).toBeGreaterThan(0);
    // A soft byte limit below the first certified batch: stretch to the first certificate.
    const tight = source.syncBatch(1, 256, 256, 1);
    expect(tight.entries.at(-1)!.index).toBe(certified[0]);
    // A hard byte limit below it too: nothing can be sent.
    expect(source.syncBatch(1, 256, 256, 1, 1).entries).toEqual([]);
  }, 120_000);
});
